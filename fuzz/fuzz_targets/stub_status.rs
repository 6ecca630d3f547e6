//! The stub_status parser takes any bytes nginx (or whatever answers on that URL) sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nginx_backlog_exporter::sources::stub_status::parser::parse;

fuzz_target!(|body: &[u8]| {
    if let Ok(status) = parse(body) {
        // Whatever parses was a whole page: rendering it again parses to the same reading.
        let page = format!(
            "Active connections: {} \nserver accepts handled requests\n {} {} {} \nReading: {} Writing: {} Waiting: {} \n",
            status.active, status.accepts, status.handled, status.requests, status.reading, status.writing, status.waiting
        );
        assert_eq!(parse(page.as_bytes()), Ok(status));
    }
});
