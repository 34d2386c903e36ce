//! What goes on inside a container, read from the kernel's own files under `/proc`, so that
//! it works in any image, with or without a shell, `ss` or `ps`: what listens, and what every
//! process has in its environment.

use std::collections::BTreeSet;

/// The TCP ports something listens on in `container`'s network namespace, on any address.
/// `docker` is the command that reaches the container's engine (`["docker"]`, or with
/// `--host`).
pub fn listening_tcp_ports(docker: &[&str], container: &str) -> BTreeSet<u16> {
    let (program, first) = docker.split_first().expect("a docker command");
    let output = std::process::Command::new(program)
        .args(first)
        .args(["exec", container, "cat", "/proc/net/tcp", "/proc/net/tcp6"])
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "reading {container}'s sockets: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// The environment of every process in `container`, one variable a line, read by a throwaway
/// container of `image` (any image with `sh` and `cat`) that shares its process namespace:
/// the app's image has neither. Panics unless every process's environment could be read.
pub fn environments(container: &str, image: &str) -> String {
    let pid = format!("container:{container}");
    // A process that ended meanwhile (a healthcheck's, say) has nothing left to read.
    let read = r#"for d in /proc/[0-9]*; do tr '\0' '\n' < "$d/environ" 2>/dev/null || { [ -d "$d" ] && echo "UNREADABLE $d"; }; echo; done"#;
    let output = crate::commands::docker_unchecked(&[
        "run",
        "--rm",
        "--pid",
        &pid,
        "--cap-add",
        "SYS_PTRACE",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        image,
        "-c",
        read,
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && text.contains("PATH=") && !text.contains("UNREADABLE"),
        "reading the environments in {container}: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// The local ports of the sockets in state LISTEN (`0A`) of a `/proc/net/tcp` table.
fn parse(table: &str) -> BTreeSet<u16> {
    table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state) = (fields.get(1)?, fields.get(3)?);
            let port = local.rsplit_once(':')?.1;
            (*state == "0A").then(|| u16::from_str_radix(port, 16).ok())?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// A listener on 0.0.0.0:2375 and one on [::]:2376 are found; a connection is not.
    #[test]
    fn listeners_are_read_from_the_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 00000000:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n   \
            1: 0100007F:A2B4 0100007F:0947 01 00000000:00000000 00:00000000 00000000     0        0 2\n   \
            0: 00000000000000000000000000000000:0948 00000000000000000000000000000000:0000 0A 0 0 0 0 0\n";
        assert_eq!(super::parse(table), [2375, 2376].into());
    }
}
