//! Personal text kept as written: a person's name, an address, a document number as stored.
//!
//! These are checked where they enter (forms, imports) and stored as text; what they add is that
//! `Debug` prints only a masked form, so a row or form that holds one can `#[derive(Debug)]` and a
//! stray `{:?}` still cannot leak it. There is deliberately no `Display`: a page that shows the full
//! value asks for it by name (`as_str()`), a log line cannot get it by accident.

use std::fmt;

use crate::ids::mask_middle;

macro_rules! personal_text {
    ($(#[$meta:meta])* $name:ident, keep_front = $front:literal, keep_back = $back:literal) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(text: impl Into<String>) -> $name {
                $name(text.into())
            }

            /// The full text. For storage, pages that show it and exports; never for logs.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// The form `Debug` prints.
            pub fn masked(&self) -> String {
                mask_middle(&self.0, $front, $back)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.masked())
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                $name(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> $name {
                $name(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

personal_text! {
    /// A person's name as registered (张三丰 → `PersonName(张**)` in `Debug`).
    PersonName, keep_front = 1, keep_back = 0
}

personal_text! {
    /// A home or work address; `Debug` keeps the first six characters (usually the province and city).
    Address, keep_front = 6, keep_back = 0
}

personal_text! {
    /// The number of an identity document as stored beside its `id_type` (validated as an
    /// [`IdDocument`](crate::ids::IdDocument) when it was written; contacts may have none).
    DocumentNumber, keep_front = 2, keep_back = 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_and_the_text_stays_reachable_by_name() {
        let name = PersonName::from("张三丰");
        assert_eq!(format!("{name:?}"), "PersonName(张**)");
        assert_eq!(name.as_str(), "张三丰");
        let address = Address::from("河北省石家庄市藁城区增村镇小果庄村3号");
        assert!(!format!("{address:?}").contains("小果庄"));
        let number = DocumentNumber::from("11010519491231002X");
        assert_eq!(format!("{number:?}"), "DocumentNumber(11**************2X)");
        assert_eq!(&*number, "11010519491231002X");
        let row = Some((name, number));
        assert!(!format!("{row:?}").contains("三丰"));
    }

    #[test]
    fn serializes_as_the_plain_text() {
        let name = PersonName::from("李四");
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"李四\"");
        assert_eq!(
            serde_json::from_str::<PersonName>("\"李四\"").unwrap(),
            name
        );
    }
}
