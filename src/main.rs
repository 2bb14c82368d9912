//! The `portghost` binary: everything happens in the library's command-line entry point,
//! which parses, runs and maps the outcome to the exit-code contract.

/// Runs before the Rust runtime, which replaces a closed standard output with `/dev/null`:
/// the library notes whether fd 1 was open, so that `portghost >&-` fails (exit 2).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_STDOUT_AT_START: extern "C" fn() = portghost::record_stdout_at_start;

fn main() -> std::process::ExitCode {
    portghost::cli_main()
}
