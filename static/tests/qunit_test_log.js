/** @odoo-module **/

// Each QUnit test of the suite, one line in the browser's console as it ends:
// "QUnit outcome passed|failed|skipped: <module> > <test>" (worded unlike Odoo's own
// "QUnit test failed: ..." messages). Odoo writes the console to its log under the
// HttpCase that opened the QUnit page, and scripts/test.sh counts these lines one by one
// in its closing line (Odoo itself counts the whole page as one test).
// A todo test passes while one of its assertions still fails, and fails once none does
// (QUnit's rule).

QUnit.testDone(({module, name, failed, skipped, todo}) => {
    let outcome = "passed";
    if (skipped) {
        outcome = "skipped";
    } else if (todo ? failed === 0 : failed > 0) {
        outcome = "failed";
    }
    console.log(`QUnit outcome ${outcome}: ${module} > ${name}`);
});
