//! The `chartgen` command line for chart authors (`chartgen template ...`).
fn main() {
    println!("chartgen");
}
