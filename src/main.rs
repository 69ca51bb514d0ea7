mod cli;
mod diag;
mod engine;
mod os;
mod repl;

fn main() {
    std::process::exit(cli::main());
}
