use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = finbox::cli::Cli::parse_checked();
    match finbox::cli::run(cli) {
        // Ended by SIGTERM / SIGHUP: the terminal is restored; exit as shells expect.
        Ok(()) => match finbox::session::exit_signal() {
            Some(signal) => ExitCode::from(128 + signal as u8),
            None => ExitCode::SUCCESS,
        },
        // A reader that went away (`finbox export | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One clear line (plus causes), never a panic or a backtrace.
            let mut msg = format!("finbox: error: {e}");
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                // Most messages quote their cause already: say it once.
                if !msg.contains(&cause) {
                    msg.push_str(&format!("\n  caused by: {cause}"));
                }
            }
            // Messages can quote a file's own text (a config key, a CSV
            // cell): no control or escape character reaches the terminal.
            let clean: Vec<String> = msg.lines().map(|l| finbox::domain::text::clean_line(l, 4000)).collect();
            eprintln!("{}", clean.join("\n"));
            // Documented and stable: `finbox man`, EXIT STATUS.
            ExitCode::from(finbox::cli::Status::of(&e) as u8)
        }
    }
}
