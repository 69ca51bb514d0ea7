fn main() {
    std::process::exit(nsscript::cli::main());
}
