//! `stegnet`: with no arguments the desktop app, with a subcommand the command line.

use std::process::ExitCode;

use clap::Parser;
use stegnet::cli::{self, Cli};

/// mimalloc keeps freed tensor buffers for reuse; glibc's malloc returns every buffer above
/// 32 MiB to the kernel, so each training step page-faulted and zeroed its activations anew.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (not among the crate's named constants).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed memory back to the kernel: a training step or a tile frees and
/// reallocates the same large buffers within milliseconds, and purging them (mimalloc's
/// default after 10 ms) costs about a sixth of a CPU training step in page faults.
fn keep_freed_memory() {
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge decision.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() -> ExitCode {
    keep_freed_memory();
    let parsed = Cli::parse();
    let result = match parsed.command {
        None => stegnet::app::run(),
        Some(command) => cli::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
