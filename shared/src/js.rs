//! Reading the protocol in the browser from the value the browser's own `JSON.parse` made, so
//! that the page's WebAssembly carries no JSON parser (the page: `frontend/src/json.rs`).
//!
//! Hand-written, not serde-wasm-bindgen's `from_value`, for one measured reason: a serde
//! deserializer's error type formats serde's "invalid type: ..." messages, and those can print a
//! float, so Rust's float formatting is compiled into the page with it. Removing just that code
//! from the built page made it 8.4 KB gzip smaller (BENCHMARKS.md). The page never shows these
//! messages (a frame it cannot read is skipped), so the error here formats nothing. It reads
//! what JSON can hold: null, booleans, numbers, strings, arrays and objects, and enums written
//! as strings (the only kind in the protocol).

use std::fmt;

use js_sys::{Array, Object};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// Parses `text` with the browser's `JSON.parse` and reads the value as a `T`.
pub fn from_str<T: de::DeserializeOwned>(text: &str) -> Result<T, Unreadable> {
    let value = js_sys::JSON::parse(text).map_err(|_| Unreadable)?;
    T::deserialize(JsDeserializer(value))
}

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A value that is not what the type being read expects. It carries no message: building one
/// would link the formatting code this module exists to leave out.
#[derive(Debug)]
pub struct Unreadable;

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the expected JSON")
    }
}

impl std::error::Error for Unreadable {}

impl de::Error for Unreadable {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unreadable
    }
    fn invalid_type(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn invalid_value(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Unreadable
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Unreadable
    }
    fn missing_field(_: &'static str) -> Self {
        Unreadable
    }
    fn duplicate_field(_: &'static str) -> Self {
        Unreadable
    }
}

/// Reads one JavaScript value as whatever serde type asks for it.
pub struct JsDeserializer(pub JsValue);

impl<'de> de::Deserializer<'de> for JsDeserializer {
    type Error = Unreadable;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        // Most common first: every check is a call into JavaScript.
        let value = self.0;
        if let Some(text) = value.as_string() {
            visitor.visit_string(text)
        } else if let Some(number) = value.as_f64() {
            if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
                if number >= 0.0 {
                    visitor.visit_u64(number as u64)
                } else {
                    visitor.visit_i64(number as i64)
                }
            } else {
                visitor.visit_f64(number)
            }
        } else if value.is_array() {
            visitor.visit_seq(Items {
                items: value.unchecked_into(),
                next: 0,
            })
        } else if value.is_object() {
            visitor.visit_map(Entries {
                entries: Object::entries(value.unchecked_ref()),
                next: 0,
                value: None,
            })
        } else if let Some(flag) = value.as_bool() {
            visitor.visit_bool(flag)
        } else if value.is_null_or_undefined() {
            visitor.visit_unit()
        } else {
            Err(Unreadable)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        if self.0.is_null_or_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        let variant: String = self.0.as_string().ok_or(Unreadable)?;
        visitor.visit_enum(IntoDeserializer::<Unreadable>::into_deserializer(variant))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of a JavaScript array, in order.
struct Items {
    items: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Unreadable;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unreadable> {
        if self.next >= self.items.length() {
            return Ok(None);
        }
        let item = self.items.get(self.next);
        self.next += 1;
        seed.deserialize(JsDeserializer(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.items.length() - self.next) as usize)
    }
}

/// The own properties of a JavaScript object, in their order, as `Object.entries` lists them.
struct Entries {
    entries: Array,
    next: u32,
    /// The value of the key just read.
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Unreadable;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unreadable> {
        if self.next >= self.entries.length() {
            return Ok(None);
        }
        let entry: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = Some(entry.get(1));
        seed.deserialize(JsDeserializer(entry.get(0))).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Unreadable> {
        let value = self.value.take().ok_or(Unreadable)?;
        seed.deserialize(JsDeserializer(value))
    }
}
