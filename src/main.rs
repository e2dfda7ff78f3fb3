fn main() -> std::process::ExitCode {
    slugbase::cli::main()
}
