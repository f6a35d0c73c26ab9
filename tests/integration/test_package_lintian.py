"""lintian on the Debian packages of this build (issue 16, item 1).

Packages the build tree with cpack into a temporary folder (as PackageTest does; no
second build), then:
- runs `lintian --fail-on error,warning` (with -I --pedantic, so the info and pedantic
  tags are printed too) on terril-node and terril-hub: no error, no warning (the tags
  left are in packaging/lintian/, each with its reason), and prints how long it took;
- checks that each manual page names every command of the CLI and every flag of each
  command's --help (the pages are generated from that help by packaging/man/gen-man.sh:
  this catches a generator that drops a section, a subcommand or a wrapped flag).
TERRIL_DEB_DIR=DIR checks other packages (e.g. dist/ from scripts/package.sh amd64).
TERRIL_EMULATOR runs the build's binaries (cross builds: qemu-aarch64-static -L /).
Needs lintian (scripts/deps.sh --test); no root.
"""

import glob
import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, package_build  # noqa: E402

EMULATOR = shlex.split(os.environ.get("TERRIL_EMULATOR", ""))
PACKAGES = {"terril-node": "node/terril-node", "terril-hub": "hub/terril-hub"}


def block(help_text, title):
    """The entries of one block of CLI11 help ("Options:", "Subcommands:"): their first column."""
    out, on = [], False
    for line in help_text.splitlines():
        if line == title:
            on = True
        elif on and not line.strip():
            on = False
        elif on and re.match(r"^  \S", line):
            out.append(line.split()[0])
    return out


class LintianTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("lintian") is None:
            raise AssertionError("lintian is not installed: scripts/deps.sh --test installs it")
        deb_dir = os.environ.get("TERRIL_DEB_DIR")
        cls.deb_tmp = None
        if not deb_dir:
            cls.deb_tmp = deb_dir = tempfile.mkdtemp(prefix="terril-lintian-")
            package_build(deb_dir)
        cls.debs = {}
        for pkg in PACKAGES:
            found = sorted(glob.glob(os.path.join(deb_dir, f"{pkg}_*.deb")))
            if not found:
                raise AssertionError(f"no {pkg}_*.deb in {deb_dir}")
            cls.debs[pkg] = found[-1]

    @classmethod
    def tearDownClass(cls):
        if cls.deb_tmp:
            shutil.rmtree(cls.deb_tmp, ignore_errors=True)

    def test_lintian_no_error_no_warning(self):
        debs = [self.debs[p] for p in PACKAGES]
        for deb in debs:
            print(f"{os.path.basename(deb)}: {os.path.getsize(deb):,} bytes", file=sys.stderr)
        t0 = time.time()
        p = subprocess.run(["lintian", "-I", "--pedantic", "--fail-on", "error,warning", *debs],
                           capture_output=True, text=True, timeout=600)
        took = time.time() - t0
        print(f"lintian ({len(debs)} packages) took {took:.1f} s, exit {p.returncode}:", file=sys.stderr)
        print((p.stdout + p.stderr).strip() or "(no tag)", file=sys.stderr)
        tags = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
        self.assertEqual(tags, [], "lintian errors or warnings")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_manual_pages_name_every_command_and_flag(self):
        for pkg, rel in PACKAGES.items():
            with self.subTest(pkg=pkg):
                root = tempfile.mkdtemp(prefix="terril-man-")
                try:
                    subprocess.run(["dpkg-deb", "-x", self.debs[pkg], root], check=True)
                    with gzip.open(os.path.join(root, f"usr/share/man/man8/{pkg}.8.gz"), "rt") as f:
                        roff = f.read()
                finally:
                    shutil.rmtree(root, ignore_errors=True)
                # The page's words without roff's escapes (\- is a hyphen, \fB... fonts).
                page = re.sub(r"\\f[BIRP]|\\&|\\/|\\,", "", roff).replace("\\-", "-")
                for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "\"COMMON OPTIONS\"",
                                "\"EXIT STATUS\"", "FILES", "\"SEE ALSO\""):
                    self.assertIn(f".SH {section}\n", page, f"{pkg}: section {section}")
                binary = [*EMULATOR, os.path.join(BUILD, rel)]

                def help_of(*cmd):
                    return subprocess.run([*binary, *cmd, "--help"], capture_output=True, text=True,
                                          check=True, timeout=60).stdout

                commands, checked = [], 0
                for sub in block(help_of(), "Subcommands:"):
                    kids = block(help_of(sub), "Subcommands:")
                    commands += [(sub, kid) for kid in kids] if kids else [(sub,)]
                for cmd in commands:
                    self.assertIn(f'.SS "{pkg} {" ".join(cmd)}"', page, f"{pkg}: command {' '.join(cmd)}")
                    text = help_of(*cmd)
                    for entry in block(text, "Options:") + block(text, "Positionals:"):
                        for name in entry.split(","):
                            self.assertRegex(page, rf"(?<![\w-]){re.escape(name)}(?![\w-])",
                                             f"{pkg} {' '.join(cmd)}: {name}")
                            checked += 1
                print(f"{pkg}.8: {len(commands)} commands, {checked} flags and arguments named",
                      file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
