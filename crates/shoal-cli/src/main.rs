//! `shoal`: cluster point sets too large for memory.

fn main() -> std::process::ExitCode {
    shoal_cli::main()
}
