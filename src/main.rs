//! The `iter8` command line: glue between chartgen and runner; the only place that prints.
fn main() {
    println!("iter8");
}
