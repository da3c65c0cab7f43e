//! Lists come in pages: what a caller asks for ([`Page`]) and what it gets back ([`Paged`]).
//! Every list of the platform and its features is paginated this way, so that pages, JSON
//! endpoints and the pager of the templates agree.

/// A page of a list: `number` from 1, `size` at most [`Page::MAX_SIZE`]. Out-of-range values
/// are brought into range rather than refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
pub struct Page {
    pub number: u32,
    pub size: u32,
}

impl Page {
    pub const MAX_SIZE: u32 = 100;
    pub const DEFAULT_SIZE: u32 = 20;

    pub fn new(number: u32, size: u32) -> Page {
        Page { number, size }.normalised()
    }

    pub fn normalised(self) -> Page {
        Page {
            number: self.number.max(1),
            size: self.size.clamp(1, Page::MAX_SIZE),
        }
    }

    /// Rows to skip.
    pub fn offset(self) -> i64 {
        let p = self.normalised();
        i64::from(p.number - 1) * i64::from(p.size)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.normalised().size)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            number: 1,
            size: Page::DEFAULT_SIZE,
        }
    }
}

/// One page of a list and where it stands in the whole.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Rows in the whole list.
    pub total: u64,
    /// This page's number (from 1).
    pub page: u32,
    pub size: u32,
}

impl<T> Paged<T> {
    /// One page (`page`, normalised) of a list of `total` rows.
    pub fn of(items: Vec<T>, total: u64, page: Page) -> Paged<T> {
        let page = page.normalised();
        Paged {
            items,
            total,
            page: page.number,
            size: page.size,
        }
    }

    /// Pages in the whole list (at least 1).
    pub fn pages(&self) -> u32 {
        let size = u64::from(self.size.max(1));
        u32::try_from(self.total.div_ceil(size).max(1)).unwrap_or(u32::MAX)
    }
}

impl<T> Paged<T> {
    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            size: self.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_brought_into_range() {
        assert_eq!(Page::new(0, 0), Page { number: 1, size: 1 });
        assert_eq!(
            Page::new(3, 1000),
            Page {
                number: 3,
                size: 100
            }
        );
        assert_eq!(Page::new(3, 20).offset(), 40);
        let p: Paged<()> = Paged {
            items: vec![],
            total: 41,
            page: 1,
            size: 20,
        };
        assert_eq!(p.pages(), 3);
        let empty: Paged<()> = Paged {
            items: vec![],
            total: 0,
            page: 1,
            size: 20,
        };
        assert_eq!(empty.pages(), 1);
    }
}
