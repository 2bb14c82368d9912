//! The `portghost` binary: everything happens in the library's command-line entry point,
//! which parses, runs and maps the outcome to the exit-code contract.

/// Runs before the Rust runtime, which replaces a closed standard output with `/dev/null`:
/// the library notes whether fd 1 was open, so that `portghost >&-` fails (exit 2).
///
/// SAFETY: the function placed in `.init_array` takes no arguments, only reads fd 1's flags
/// with one `fcntl` and stores a flag in an atomic: nothing it does depends on the Rust
/// runtime being initialised. This is the binary's only unsafe attribute; the library
/// denies unsafe code.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_STDOUT_AT_START: extern "C" fn() = portghost::record_stdout_at_start;

fn main() -> std::process::ExitCode {
    portghost::cli_main()
}
