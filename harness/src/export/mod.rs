//! The renderings of a [`Summary`], one file per format (as hyperfine keeps `export/`): `json`
//! (summary.json, read back by `summary DIR` and `--baseline`), `table` (the screen), `html` (a
//! client x server matrix per suite and test), `junit` (a test case per pair and test) and `prometheus`
//! (node_exporter's textfile collector). Each is a pure function from the summary to text; this module
//! writes the files. Uses only [`crate::model`].

pub mod html;
pub mod json;
pub mod junit;
pub mod prometheus;
pub mod table;

use crate::model::Summary;
use linkbench::report::WriteError;
use std::path::Path;

/// A file `run` writes into its output directory: its name and how it is rendered.
pub struct Format {
    pub file: &'static str,
    pub render: fn(&Summary) -> String,
}

/// The files `run` writes beside the reports, in the order they are written.
pub const FILES: [Format; 4] = [
    Format {
        file: "summary.json",
        render: json::render,
    },
    Format {
        file: "summary.html",
        render: html::render,
    },
    Format {
        file: "junit.xml",
        render: junit::render,
    },
    Format {
        file: "linkbench.prom",
        render: prometheus::render,
    },
];

/// Writes summary.json, summary.html, junit.xml and linkbench.prom into `dir`, each atomically; stops at
/// the first that cannot be written.
pub fn write_all(summary: &Summary, dir: &Path) -> Result<(), WriteError> {
    for f in &FILES {
        let text = (f.render)(summary);
        linkbench::report::write::write_bytes_atomically(text.as_bytes(), &dir.join(f.file))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::four_hosts_h3_slow;

    #[test]
    fn every_file_is_written_as_its_format_renders_it() {
        let s = four_hosts_h3_slow();
        let dir = tempfile::tempdir().unwrap();
        write_all(&s, dir.path()).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "junit.xml",
                "linkbench.prom",
                "summary.html",
                "summary.json"
            ]
        );
        for f in &FILES {
            let text = std::fs::read_to_string(dir.path().join(f.file)).unwrap();
            // write_bytes_atomically adds a newline of its own, as it always has.
            assert_eq!(text, (f.render)(&s) + "\n", "{}", f.file);
        }
        let back: Summary = serde_json::from_str(&json::render(&s)).unwrap();
        assert_eq!(
            json::render(&back),
            json::render(&s),
            "summary.json reads back"
        );
    }

    #[test]
    fn a_directory_that_cannot_be_written_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = write_all(&four_hosts_h3_slow(), &missing).unwrap_err();
        assert!(e.to_string().contains("summary.json"), "{e}");
    }

    #[test]
    fn junit_prometheus_and_html_are_well_formed() {
        let s = four_hosts_h3_slow();
        let j = junit::render(&s);
        assert!(
            j.contains("<testsuites name=\"acceptance\" tests=\"6\" failures=\"3\" errors=\"0\">")
        );
        assert_eq!(j.matches("<testcase ").count(), 6);
        assert_eq!(
            j.matches("<failure message=\"slow &quot;link&quot; &lt;x&gt;\"/>")
                .count(),
            3
        );
        let p = prometheus::render(&s);
        assert!(p.contains("linkbench_pair_bits_per_second{plan=\"acceptance\",suite=\"suite0\",client=\"h1\",server=\"h2\",test=\"tcp bw 64K x1\"} 2000000000"));
        assert!(p.contains("linkbench_host_failing_pairs{plan=\"acceptance\",host=\"h3\"} 3"));
        for line in p.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        let h = html::render(&s);
        assert_eq!(
            h.matches("class=\"fail\"").count(),
            3 + 1,
            "three red cells and the suspect line"
        );
        assert!(h.contains("Suspect: h3"));
        assert!(table::render(&s).contains("suspect h3"));
    }
}
