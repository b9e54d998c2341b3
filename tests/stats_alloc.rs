//! The exact Mann-Whitney test's memory: at the largest size that takes the exact path (50 x 50 trials,
//! no ties) the whole p-value computation may hold at most 256 KiB at once. The table it replaced held
//! (n1+1)(n2+1)(n1*n2+1) floats, 52 MB. A counting global allocator measures the peak; this file holds
//! one test so nothing else allocates while it runs.

use linkbench::compare::stats::mann_whitney_p;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes straight to the system allocator with the caller's layout and pointer; the
// counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` above with this layout, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn the_exact_test_at_50_by_50_needs_little_memory() {
    // Even against odd numbers, overlapping: no ties, U well inside the distribution.
    let a: Vec<f64> = (0..50).map(|i| f64::from(i) * 2.0).collect();
    let b: Vec<f64> = (0..50).map(|i| f64::from(i) * 2.0 + 21.0).collect();
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let p = mann_whitney_p(&a, &b);
    let peak = PEAK.load(Ordering::SeqCst) - before;
    assert!(p > 0.0 && p <= 1.0, "{p}");
    assert!(peak <= 256 * 1024, "peak allocation {peak} bytes");
    eprintln!("mann_whitney_p at 50 x 50: p = {p}, peak allocation {peak} bytes");
}
