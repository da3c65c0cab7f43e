//! The `hub` binary: everything is in the library's command line.

fn main() -> std::process::ExitCode {
    hub::cli::main()
}
