//! corral-core on a Cortex-M0 (QEMU microbit, nRF51): records from the main loop and the SysTick
//! interrupt, renders in 512-byte chunks and prints over semihosting, then exits QEMU.
#![no_std]
#![no_main]

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hio};

struct Board {
    out: Option<hio::HostStream>,
    syst: cortex_m::peripheral::SYST,
}

impl corral_firmware::Board for Board {
    fn write(&mut self, bytes: &[u8]) {
        if let Some(out) = self.out.as_mut() {
            let _ = out.write_all(bytes);
        }
    }

    fn start_timer(&mut self) {
        self.syst.set_clock_source(SystClkSource::Core);
        self.syst.set_reload(20_000);
        self.syst.clear_current();
        self.syst.enable_interrupt();
        self.syst.enable_counter();
    }

    fn idle(&mut self) {
        cortex_m::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail());
    let mut board = Board {
        out: hio::hstdout().ok(),
        syst: peripherals.SYST,
    };
    corral_firmware::run(&mut board);
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
fn SysTick() {
    if corral_firmware::on_tick() {
        // SAFETY: only this handler touches SYST once `main` has started the timer; it
        // stops the counter and its interrupt, nothing else.
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        syst.disable_interrupt();
        syst.disable_counter();
    }
}

fn fail() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(b"\n### PANIC\n");
    }
    fail()
}
