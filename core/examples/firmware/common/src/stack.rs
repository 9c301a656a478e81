//! Stack painting: the words below the stack pointer are filled with a pattern, the
//! operation runs, and the lowest word no longer holding the pattern marks its peak.

/// Bytes painted below the stack pointer: more than any operation measured here uses (a
/// result of `PAINT` would mean the measurement ran off the painted area).
pub const PAINT: usize = 8192;
const PATTERN: u32 = 0x5AFE_C0DE;

#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; touches no memory.
    unsafe {
        #[cfg(target_arch = "arm")]
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "riscv32")]
        core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(not(any(target_arch = "arm", target_arch = "riscv32")))]
        compile_error!("stack painting knows arm and riscv32 only");
    }
    sp
}

/// Runs `f` in a frame of its own.
#[inline(never)]
fn call(f: impl FnOnce()) {
    f();
}

/// Peak stack bytes `f` uses, from the stack pointer of the call that runs it (its
/// return address and saved registers included). Interrupts must not fire meanwhile: the
/// firmware measures after its timer has stopped.
#[inline(never)]
pub fn peak(f: impl FnOnce()) -> usize {
    let top = stack_pointer() & !3;
    let bottom = top - PAINT;
    let mut at = bottom;
    while at < top {
        // SAFETY: `[bottom, top)` lies below the stack pointer, inside the stack region the
        // linker script reserves (far more than `PAINT` bytes on each firmware): no live
        // frame and no other data is there, and nothing runs concurrently (no interrupt
        // fires while measuring). The loop itself keeps its state in registers.
        unsafe { core::ptr::write_volatile(at as *mut u32, PATTERN) };
        at += 4;
    }
    call(f);
    let mut at = bottom;
    while at < top {
        // SAFETY: as above; the words are read back after `f` returned.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PATTERN {
            break;
        }
        at += 4;
    }
    top - at
}
