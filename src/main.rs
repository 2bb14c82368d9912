//! The `portghost` binary: parse, run, map the outcome to the exit-code contract.
//!
//! Owns only the process boundary: the exit code and the one-line error on stderr (a
//! closed stdout pipe is not an error). Everything else is [`portghost::app`]'s; nothing
//! else belongs here.

use clap::Parser;
use portghost::app::{self, Exit};
use portghost::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match app::run(cli) {
        Ok(exit) => exit,
        Err(err) if is_broken_pipe(&err) => Exit::Clean,
        Err(err) => {
            eprintln!("portghost: {err:#}");
            Exit::Error
        }
    };
    ExitCode::from(code as u8)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
