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

/// `Deserializer` methods that read a value as another method does: every integer type as a
/// number (the visitor checks its range), `f32` as `f64`, borrowed strings and field names as
/// strings.
macro_rules! read_as {
    ($($method:ident => $as:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
            self.$as(visitor)
        }
    )*};
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
        } else if value.as_f64().is_some() {
            JsDeserializer(value).deserialize_f64(visitor)
        } else if value.is_array() {
            JsDeserializer(value).deserialize_seq(visitor)
        } else if value.is_object() {
            JsDeserializer(value).deserialize_map(visitor)
        } else if let Some(flag) = value.as_bool() {
            visitor.visit_bool(flag)
        } else if value.is_null_or_undefined() {
            visitor.visit_unit()
        } else {
            Err(Unreadable)
        }
    }

    // Each kind of value is read only as what the type asks for, so a type's reader is compiled
    // with only the one `visit_*` it uses (a struct's derived `visit_seq`, for one, never is).

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        visitor.visit_bool(self.0.as_bool().ok_or(Unreadable)?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        match integer(&self.0)? {
            Integer::Unsigned(n) => visitor.visit_u64(n),
            Integer::Negative(n) => visitor.visit_i64(n),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        match integer(&self.0) {
            Ok(Integer::Unsigned(n)) => visitor.visit_u64(n),
            Ok(Integer::Negative(n)) => visitor.visit_i64(n),
            Err(_) => visitor.visit_f64(self.0.as_f64().ok_or(Unreadable)?),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        visitor.visit_string(self.0.as_string().ok_or(Unreadable)?)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        if !self.0.is_array() {
            return Err(Unreadable);
        }
        visitor.visit_seq(Items(Cursor::new(self.0.unchecked_into())))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        // Arrays are objects to JavaScript, but not to JSON's readers.
        if !self.0.is_object() || self.0.is_array() {
            return Err(Unreadable);
        }
        visitor.visit_map(Entries {
            entries: Cursor::new(Object::entries(self.0.unchecked_ref())),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        self.deserialize_map(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        if !self.0.is_null_or_undefined() {
            return Err(Unreadable);
        }
        visitor.visit_unit()
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
        i128 u128 char bytes byte_buf unit_struct tuple tuple_struct
    }

    read_as! {
        deserialize_i8 => deserialize_u64,
        deserialize_i16 => deserialize_u64,
        deserialize_i32 => deserialize_u64,
        deserialize_i64 => deserialize_u64,
        deserialize_u8 => deserialize_u64,
        deserialize_u16 => deserialize_u64,
        deserialize_u32 => deserialize_u64,
        deserialize_f32 => deserialize_f64,
        deserialize_str => deserialize_string,
        deserialize_identifier => deserialize_string,
    }
}

/// A JavaScript number that is an integer JavaScript holds exactly.
enum Integer {
    Unsigned(u64),
    Negative(i64),
}

/// `value` as an integer, if it is a number with no fraction within 2^53 - 1 of zero.
fn integer(value: &JsValue) -> Result<Integer, Unreadable> {
    let number = value.as_f64().ok_or(Unreadable)?;
    if number.fract() != 0.0 || number.abs() > MAX_SAFE_INTEGER {
        return Err(Unreadable);
    }
    Ok(if number >= 0.0 {
        Integer::Unsigned(number as u64)
    } else {
        Integer::Negative(number as i64)
    })
}

/// A JavaScript array read from the front, one item at a time.
struct Cursor {
    array: Array,
    next: u32,
}

impl Cursor {
    fn new(array: Array) -> Self {
        Cursor { array, next: 0 }
    }

    fn next(&mut self) -> Option<JsValue> {
        if self.next >= self.array.length() {
            return None;
        }
        let item = self.array.get(self.next);
        self.next += 1;
        Some(item)
    }

    fn remaining(&self) -> usize {
        (self.array.length() - self.next) as usize
    }
}

/// The items of a JavaScript array, in order.
struct Items(Cursor);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Unreadable;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unreadable> {
        match self.0.next() {
            Some(item) => seed.deserialize(JsDeserializer(item)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.remaining())
    }
}

/// The own properties of a JavaScript object, in their order, as `Object.entries` lists them.
struct Entries {
    /// `[key, value]` pairs.
    entries: Cursor,
    /// The value of the key just read.
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Unreadable;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unreadable> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let entry: Array = entry.unchecked_into();
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
