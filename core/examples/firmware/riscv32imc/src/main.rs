//! corral-core on a riscv32imc (QEMU `virt`): records from the main loop and the machine
//! timer interrupt, renders in 512-byte chunks and prints on the 16550 UART, then stops
//! QEMU through its test device.
#![no_std]
#![no_main]

use riscv::interrupt::Interrupt;

/// The 16550 UART's transmit register.
const UART_THR: usize = 0x1000_0000;
/// The SiFive test device: writing `PASS` or `FAIL` ends QEMU.
const TEST_DEVICE: usize = 0x0010_0000;
const PASS: u32 = 0x5555;
const FAIL: u32 = (1 << 16) | 0x3333;
/// The CLINT's `mtimecmp` for hart 0 and `mtime` (10 MHz on `virt`).
const MTIMECMP: usize = 0x0200_4000;
const MTIME: usize = 0x0200_bff8;
/// Timer period: 1 ms.
const PERIOD: u64 = 10_000;

struct Board;

fn uart_write(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: QEMU's `virt` maps a 16550 UART at `UART_THR`; a byte store to its
        // transmit register sends the byte (QEMU's model is always ready).
        unsafe { core::ptr::write_volatile(UART_THR as *mut u8, b) };
    }
}

fn mtime() -> u64 {
    // SAFETY: `MTIME` is the CLINT's 64-bit timer register on `virt`; read as two words,
    // high, low, high again until the high word is stable.
    unsafe {
        loop {
            let hi = core::ptr::read_volatile((MTIME + 4) as *const u32);
            let lo = core::ptr::read_volatile(MTIME as *const u32);
            if core::ptr::read_volatile((MTIME + 4) as *const u32) == hi {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }
}

fn set_mtimecmp(at: u64) {
    // SAFETY: `MTIMECMP` is hart 0's compare register. The high word is first set to all
    // ones so that no value between the two stores can raise a spurious interrupt.
    unsafe {
        core::ptr::write_volatile((MTIMECMP + 4) as *mut u32, u32::MAX);
        core::ptr::write_volatile(MTIMECMP as *mut u32, at as u32);
        core::ptr::write_volatile((MTIMECMP + 4) as *mut u32, (at >> 32) as u32);
    }
}

fn exit(code: u32) -> ! {
    // SAFETY: QEMU's `virt` maps the SiFive test device at `TEST_DEVICE`; this store ends
    // the emulation with the given status.
    unsafe { core::ptr::write_volatile(TEST_DEVICE as *mut u32, code) };
    loop {
        riscv::asm::wfi();
    }
}

impl corral_firmware::Board for Board {
    fn write(&mut self, bytes: &[u8]) {
        uart_write(bytes);
    }

    fn start_timer(&mut self) {
        set_mtimecmp(mtime() + PERIOD);
        // SAFETY: the handler below is ready; enabling the machine timer interrupt and
        // interrupts globally is what starts it.
        unsafe {
            riscv::register::mie::set_mtimer();
            riscv::interrupt::enable();
        }
    }

    fn idle(&mut self) {
        riscv::asm::wfi();
    }
}

#[riscv_rt::entry]
fn main() -> ! {
    corral_firmware::run(&mut Board);
    exit(PASS)
}

#[riscv_rt::core_interrupt(Interrupt::MachineTimer)]
fn machine_timer() {
    if corral_firmware::on_tick() {
        set_mtimecmp(u64::MAX);
    } else {
        set_mtimecmp(mtime() + PERIOD);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    uart_write(b"\n### PANIC\n");
    exit(FAIL)
}
