//! `stegnet`: with no arguments the desktop app, with a subcommand the command line.

use std::process::ExitCode;

use clap::Parser;
use stegnet::cli::{self, Cli};

fn main() -> ExitCode {
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
