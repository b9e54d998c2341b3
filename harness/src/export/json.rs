//! summary.json: the [`Summary`] as pretty-printed JSON with a final newline, the form `summary DIR` and
//! `--baseline DIR` read back.

use crate::model::Summary;

/// The summary as pretty-printed JSON and a newline.
pub fn render(summary: &Summary) -> String {
    serde_json::to_string_pretty(summary).expect("serializes") + "\n"
}
