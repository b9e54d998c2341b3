//! junit.xml: a `<testsuite>` per plan suite and a `<testcase>` per pair and test, with a `<failure>`
//! or `<error>` carrying the reason (a soak suite adds `SUITE.modules`, a case per module); every name
//! XML-escaped (quotes, apostrophes and newlines too).

use crate::model::{PairOutcome, Summary, Verdict};
use linkbench::compare::html::escape as esc;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// JUnit XML: a test suite per plan suite, a test case per pair and test.
pub fn render(s: &Summary) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // A soak suite's module cases count with the pairs' cases.
    let modules = s.module_rows();
    let failing_modules = modules
        .iter()
        .filter(|(_, m)| m.verdict != Verdict::Pass)
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        xml(&s.plan),
        s.pairs.len() + modules.len(),
        s.failed + failing_modules,
        s.errors
    );
    let suites: BTreeSet<&String> = s.pairs.iter().map(|o| &o.suite).collect();
    for suite in suites {
        let cases: Vec<&PairOutcome> = s.pairs.iter().filter(|o| &o.suite == suite).collect();
        let count = |v: Verdict| cases.iter().filter(|o| o.verdict == v).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            xml(&s.plan),
            xml(suite),
            cases.len(),
            count(Verdict::Fail),
            count(Verdict::Error),
            cases.iter().map(|o| o.seconds).sum::<f64>()
        );
        for o in &cases {
            test_case(&mut out, &s.plan, suite, o);
        }
        let _ = writeln!(out, "  </testsuite>");
        module_suite(&mut out, &s.plan, suite, &cases);
    }
    out + "</testsuites>\n"
}

/// A soak suite's modules as a test suite of their own (`PLAN.SUITE.modules`), a case per module.
fn module_suite(out: &mut String, plan: &str, suite: &str, cases: &[&PairOutcome]) {
    let modules: Vec<_> = cases.iter().flat_map(|o| o.modules.iter()).collect();
    if modules.is_empty() {
        return;
    }
    let failing = modules
        .iter()
        .filter(|m| m.verdict != Verdict::Pass)
        .count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}.{}.modules\" tests=\"{}\" failures=\"{failing}\" errors=\"0\">",
        xml(plan),
        xml(suite),
        modules.len()
    );
    for m in modules {
        let _ = write!(
            out,
            "    <testcase classname=\"{}.{}.modules\" name=\"{}\"",
            xml(plan),
            xml(suite),
            xml(&m.name())
        );
        if m.verdict == Verdict::Pass {
            let _ = writeln!(out, "/>");
        } else {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\"/>\n    </testcase>",
                xml(&m.failed.join("; "))
            );
        }
    }
    let _ = writeln!(out, "  </testsuite>");
}

/// One `<testcase>`, with its `<failure>` or `<error>` unless it passed.
fn test_case(out: &mut String, plan: &str, suite: &str, o: &PairOutcome) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}.{}\" name=\"{} -&gt; {}: {}\" time=\"{:.3}\"",
        xml(plan),
        xml(suite),
        xml(&o.client),
        xml(&o.server),
        xml(&o.test),
        o.seconds
    );
    match o.verdict {
        Verdict::Pass => {
            let _ = writeln!(out, "/>");
        }
        v => {
            let tag = if v == Verdict::Fail {
                "failure"
            } else {
                "error"
            };
            let _ = writeln!(
                out,
                ">\n      <{tag} message=\"{}\"/>\n    </testcase>",
                xml(&o.reason)
            );
        }
    }
}

/// Text for an XML attribute: HTML's escapes plus `'` and newlines.
fn xml(s: &str) -> String {
    esc(s).replace('\'', "&apos;").replace('\n', "&#10;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_escapes_markup_quotes_and_newlines() {
        assert_eq!(
            xml("a<b>&\"c\" 'd'\ne"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;&#10;e"
        );
        assert_eq!(xml("plain h1.example"), "plain h1.example");
    }
}
