//! The `portghost` binary: everything happens in the library's command-line entry point,
//! which parses, runs and maps the outcome to the exit-code contract.

fn main() -> std::process::ExitCode {
    portghost::cli_main()
}
