//! Rendering into a reused buffer allocates nothing: a counting global allocator watches
//! this thread while both encoders render a registry that uses every feature, in one piece
//! and in chunks.
#![allow(clippy::std_instead_of_core, reason = "a std test binary")]
#[path = "encode_fixture/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use corral_core::encode::{Progress, Renderer, SliceSink};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator can run while thread-locals are being torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

#[test]
fn rendering_into_a_reused_buffer_allocates_nothing() {
    let f = common::every_feature();
    let mut buf = vec![0u8; 1 << 16];
    let mut small = vec![0u8; 2048];
    for renderer in [
        Renderer::prometheus(),
        Renderer::openmetrics(),
        Renderer::openmetrics().with_created_unix_nanos(1_700_000_000_000_000_000),
    ] {
        let mut written = 0;
        let n = allocations(|| {
            let mut sink = SliceSink::new(&mut buf);
            let mut renderer = renderer;
            renderer.render(f.registry, &mut sink).unwrap();
            written = sink.as_bytes().len();
        });
        assert!(written > 3000);
        assert_eq!(n, 0, "one-shot {:?}", renderer.format());

        let mut chunks = 0;
        let n = allocations(|| {
            let mut renderer = renderer;
            loop {
                let mut sink = SliceSink::new(&mut small);
                let progress = renderer.render_chunk(f.registry, &mut sink).unwrap();
                chunks += 1;
                if progress == Progress::Done {
                    break;
                }
            }
        });
        assert!(chunks > 2);
        assert_eq!(n, 0, "chunked {:?}", renderer.format());
    }
}
