"""``tlh cert``: HTTPS on a LAN with the practice's own certificate authority.

``tlh cert --name tele.lan --name 192.168.1.10`` makes the CA (once) and a server
certificate; run again, or ``tlh cert renew``, and the CA is kept, so devices that trust
it need nothing new. Needs no server (``tlh.tlscert`` does the work).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.state import JsonOpt, handled, output, state

if TYPE_CHECKING:
    from tlh.cli.output import Output
    from tlh.tlscert import Issued

app = typer.Typer(
    help="HTTPS on a LAN: a private CA and a server certificate (run again to renew).",
    invoke_without_command=True,
)

DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Folder of the CA and certificate (default: tls/ in the data dir)."),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: TLH_DATA_DIR or the user data dir)."),
]
DaysOpt = Annotated[
    int, typer.Option("--days", help="Days the server certificate is valid (at most 825).")
]


def _folder(given: Path | None, data_dir: Path | None) -> Path:
    if given is not None:
        return given.absolute()
    from tlh.paths import default_data_dir

    return ((data_dir or default_data_dir()) / "tls").absolute()


@app.callback()
def cert(
    ctx: typer.Context,
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name",
            help="A host name or IP address clients use to reach the server (repeat it).",
        ),
    ] = None,
    practice: Annotated[
        str, typer.Option("--practice", help="The practice's name, shown in the CA's name.")
    ] = "tlh",
    directory: DirOpt = None,
    data_dir: DataDirOpt = None,
    days: DaysOpt = 397,
    json_: JsonOpt = False,
) -> None:
    """Make the practice's CA (kept if it exists) and a server certificate for --name."""
    if ctx.invoked_subcommand is not None:
        return
    out = output(ctx, json_).out
    with handled(out):
        from tlh import tlscert

        names = tlscert.Names.parse(name or [])
        issued = tlscert.make(_folder(directory, data_dir), names, practice=practice, days=days)
        _report(out, issued)


@app.command("renew")
def renew(
    ctx: typer.Context,
    directory: DirOpt = None,
    data_dir: DataDirOpt = None,
    days: DaysOpt = 397,
) -> None:
    """A new server certificate for the same names, from the same CA (restart tlh serve)."""
    out = state(ctx).out
    with handled(out):
        from tlh import tlscert

        _report(out, tlscert.renew(_folder(directory, data_dir), days=days))


@app.command("trust")
def trust(ctx: typer.Context, directory: DirOpt = None, data_dir: DataDirOpt = None) -> None:
    """How to make each kind of device trust the practice's CA."""
    out = state(ctx).out
    with handled(out):
        from tlh import tlscert

        folder = _folder(directory, data_dir)
        ca = folder / tlscert.CA_CERT
        fp = tlscert.fingerprint(tlscert.read_certificate(ca))
        if out.as_json:
            out.json({"ca": str(ca), "ca_sha256": fp, "trust": trust_steps(ca)})
            return
        for line in _trust_lines(ca, fp):
            out.line(line)


def trust_steps(ca: Path) -> dict[str, str]:
    """One way per system to trust ``ca`` (copy the file to the device first)."""
    q = shlex.quote(str(ca))
    return {
        "windows": f"certutil -addstore -f Root {q}  (in an administrator's prompt;"
        " or open the file, Install Certificate, Local Machine, Trusted Root"
        " Certification Authorities)",
        "macos": "sudo security add-trusted-cert -d -r trustRoot"
        f" -k /Library/Keychains/System.keychain {q}",
        "debian/ubuntu": f"sudo cp {q} /usr/local/share/ca-certificates/tlh-ca.crt"
        " && sudo update-ca-certificates",
        "fedora/rhel": f"sudo cp {q} /etc/pki/ca-trust/source/anchors/tlh-ca.pem"
        " && sudo update-ca-trust",
        "chrome/chromium on linux": f"certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n tlh-ca -i {q}",
        "firefox": "Settings, Privacy & Security, Certificates, View Certificates,"
        " Authorities, Import: the file; tick 'identify websites'",
        "ios/ipados": "send the file to the device (AirDrop, mail), install the profile in"
        " Settings, then Settings, General, About, Certificate Trust Settings: switch it on",
        "android": "Settings, Security, Encryption & credentials, Install a certificate,"
        " CA certificate: the file",
    }


def _trust_lines(ca: Path, fp: str) -> list[str]:
    lines = [
        f"Trust the practice's CA {ca} on every device that opens tlh's pages",
        f"(check its SHA-256 fingerprint where the system shows it: {fp}):",
    ]
    lines += [f"  {system}: {step}" for system, step in trust_steps(ca).items()]
    return lines


def _report(out: Output, issued: Issued) -> None:
    from tlh.cli.invocation import tlh_command

    serve = (
        f"{tlh_command()} serve --host 0.0.0.0 --cert {shlex.quote(str(issued.cert))}"
        f" --key {shlex.quote(str(issued.key))}"
    )
    until = f"{issued.not_after:%Y-%m-%d}"
    if out.as_json:
        out.json(
            {
                "ca": str(issued.ca),
                "ca_created": issued.ca_created,
                "ca_sha256": issued.ca_fingerprint,
                "cert": str(issued.cert),
                "key": str(issued.key),
                "names": issued.names.all(),
                "not_after": issued.not_after.isoformat(),
                "serve": serve,
                "trust": trust_steps(issued.ca),
            }
        )
        return
    made = "made" if issued.ca_created else "kept (devices that trust it need nothing new)"
    out.line(f"CA {issued.ca}: {made}")
    out.line(f"certificate {issued.cert} for {', '.join(issued.names.all())}, valid until {until}")
    out.line(f"serve with: {serve}")
    renew = f"{tlh_command()} cert renew --dir {shlex.quote(str(issued.folder))}"
    out.line(f"renew before {until} with: {renew} (then restart tlh serve)")
    out.line("")
    if issued.ca_created:
        for line in _trust_lines(issued.ca, issued.ca_fingerprint):
            out.line(line)
    else:
        trust = f"{tlh_command()} cert trust --dir {shlex.quote(str(issued.folder))}"
        out.line(f"(how to trust the CA on a new device: {trust})")
