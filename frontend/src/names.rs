//! Names compared as the server compares them: two names are one when their Unicode lowercase
//! forms match (`chat_shared::name_key`). In the browser the lowercase comes from JavaScript's
//! `toLowerCase`, the same locale-independent Unicode mapping (final sigma included), so the
//! WebAssembly carries no Unicode case tables (7.7 KB gzip; BENCHMARKS.md). The two can differ
//! only on characters one Unicode version has case pairs for and the other does not yet. ASCII
//! names, most of them, never leave WebAssembly.

/// The form in which this page compares and stores names.
pub fn name_key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    #[cfg(feature = "browser")]
    {
        js_sys::JsString::from(name).to_lower_case().into()
    }
    #[cfg(not(feature = "browser"))]
    {
        chat_shared::name_key(name)
    }
}

/// True if `a` and `b` are the same name; without allocating when both are ASCII.
pub fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    name_key(a) == name_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Natively a name outside ASCII goes to the server's own `name_key`, so what is checked here
    // is the ASCII path and when each path is taken; the browser's `toLowerCase` is checked in
    // the browser (`a name outside ASCII is one name in any case`, end2end/tests/rooms.spec.js).
    #[test]
    fn names_compare_as_the_server_compares_them() {
        for name in ["alice", "ALICE", "Bob-2_x", "MiXeD Case 42", ""] {
            assert_eq!(name_key(name), chat_shared::name_key(name), "{name:?}");
        }
        assert!(same_name("Alice", "aLICE"));
        assert!(same_name("ZOË", "zoë"));
        // The Kelvin sign lowercases to an ASCII k: one name to the server, so to the page.
        assert!(same_name("\u{212A}im", "kim"));
        assert!(!same_name("alice", "alicia"));
        assert!(!same_name("zoë", "zoe"));
    }
}
