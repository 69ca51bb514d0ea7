//! The script front end: any text, compiled by nsscript's engine (its
//! custom `spawn` syntax, limits and resolver included), and any error
//! rendered by the diagnostics printer with its source line and caret.
//! Nothing is evaluated: a script could spawn and mount.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nsscript::diag::{render, Source};
use nsscript::engine;

thread_local! {
    static ENGINE: rhai::Engine = engine::new_engine();
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    ENGINE.with(|e| {
        if let Err(err) = engine::compile(e, "<fuzz>", &text) {
            let src = Source {
                name: "<fuzz>",
                text: &text,
            };
            let out = render(&err, Some(&src));
            assert!(out.starts_with("error: "), "{out}");
        }
    });
});
