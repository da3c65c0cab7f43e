//! The lean portal: policies, financial products, financing demands, institutions, education and
//! the operators' and government's consoles — its domain, routes and templates, mounted by `hub`.
//!
//! It is empty until the portal work lands.
