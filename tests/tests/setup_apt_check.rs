//! `cargo xtask setup --check-apt`: every apt package CI installs must exist on a clean
//! bookworm. `cargo xtask test` runs the check on the real list; this test shows that it
//! catches a package bookworm lacks, whatever the machine running it has installed.

/// mdBook has no bookworm package (trixie's needs trixie's libc): asking for it fails, by name.
#[test]
fn a_package_bookworm_lacks_fails_the_check() {
    let output = tests::xtask::xtask(&["setup", "--check-apt", "--also", "mdbook"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("these packages cannot be installed on a clean bookworm: mdbook"),
        "{stderr}"
    );
}
