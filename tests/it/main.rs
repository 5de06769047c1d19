//! Integration tests of Prometeu Packer, one binary. Every `.rs` file in this folder is
//! a module and must be registered below; `every_module_is_registered` checks that.

mod contract;
mod registration;
