//! The attack suite: each test is one attack a hostile container or a
//! hostile script would try, named after what it tries, run through the
//! real binary against the real kernel. A test passes when the attack is
//! observed to fail. Add an attack as a test in the file of its area.

mod guard;
mod memory;
mod paths;
mod powers;
mod promises;
