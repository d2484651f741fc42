use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = finbox::cli::Cli::parse();
    match finbox::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (plus causes), never a panic or a backtrace.
            let mut msg = format!("finbox: error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
