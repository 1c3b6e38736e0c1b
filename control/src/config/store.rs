//! The validated sections of protocols that the model has no field for: one value per
//! protocol, of the protocol's own type, found by that type (a type map, like
//! `http::Extensions`). A protocol's config hook puts its section here
//! ([`ProtocolSections::insert`]) and its `start` and `reload` read it back
//! ([`ProtocolSections::get`]); the config model does not know the type.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// What a protocol's validated section must be: plain data that can be compared (a reload
/// compares the old section with the new one) and printed.
pub trait SectionValue: Any + fmt::Debug + Send + Sync {
    /// Itself, for the typed lookup.
    fn as_any(&self) -> &dyn Any;

    /// Whether `other` is a value of the same type, equal to this one.
    fn equals(&self, other: &dyn SectionValue) -> bool;
}

impl<T: Any + fmt::Debug + PartialEq + Send + Sync> SectionValue for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn equals(&self, other: &dyn SectionValue) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// Every such protocol's validated section, at most one per type.
#[derive(Clone, Default)]
pub struct ProtocolSections {
    values: Vec<(TypeId, Arc<dyn SectionValue>)>,
}

impl ProtocolSections {
    /// Puts `value` in, in place of the one of its type if there was one.
    pub fn insert<T: SectionValue>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        self.values.retain(|(t, _)| *t != id);
        self.values.push((id, Arc::new(value)));
    }

    /// The section of type `T`, if its protocol's config hook put one in.
    pub fn get<T: SectionValue>(&self) -> Option<&T> {
        self.values
            .iter()
            .find(|(t, _)| *t == TypeId::of::<T>())
            .and_then(|(_, v)| v.as_any().downcast_ref())
    }

    /// How many sections there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl PartialEq for ProtocolSections {
    fn eq(&self, other: &Self) -> bool {
        self.values.len() == other.values.len()
            && self.values.iter().all(|(t, v)| {
                other
                    .values
                    .iter()
                    .any(|(u, w)| t == u && v.equals(w.as_ref()))
            })
    }
}

impl Eq for ProtocolSections {}

impl fmt::Debug for ProtocolSections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.values.iter().map(|(_, v)| v))
            .finish()
    }
}
