"""moby/buildkit frontend/dockerfile/dockerfile_check_test.go, translated.

Each Go case runs the linter twice: in a build ("warntype=progress": the
warnings of the stages built, then the build's own result) and as the lint
subrequest ("warntype=unmarshal": every stage, nothing built). Here the first
is `strata build` (its `warning: Rule: detail (line N)` lines) and the second
`strata build --call check,format=json` (BuildKit's LintResults). The
rules' descriptions and URLs below are BuildKit's (linter/ruleset.go), so
that the test checks ours against them.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bk import Suite, check, equal  # noqa: E402

S = Suite("dockerfile_check_test.go")

DOC = "https://docs.docker.com/go/dockerfile/rule/"
RULES = {
    "StageNameCasing": ("Stage names should be lowercase", DOC + "stage-name-casing/"),
    "FromAsCasing": ("The 'as' keyword should match the case of the 'from' keyword",
                     DOC + "from-as-casing/"),
    "NoEmptyContinuation": ("Empty continuation lines will become errors in a future release",
                            DOC + "no-empty-continuation/"),
    "ConsistentInstructionCasing": (
        "All commands within the Dockerfile should use the same casing (either upper or lower)",
        DOC + "consistent-instruction-casing/"),
    "DuplicateStageName": ("Stage names should be unique", DOC + "duplicate-stage-name/"),
    "ReservedStageName": ("Reserved words should not be used as stage names",
                          DOC + "reserved-stage-name/"),
    "JSONArgsRecommended": ("JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended "
                            "behavior related to OS signals", DOC + "json-args-recommended/"),
    "MaintainerDeprecated": ("The MAINTAINER instruction is deprecated, use a label instead to "
                             "define an image author", DOC + "maintainer-deprecated/"),
    "UndefinedArgInFrom": ("FROM command must use declared ARGs", DOC + "undefined-arg-in-from/"),
    "WorkdirRelativePath": ("Relative workdir without an absolute workdir declared within the "
                            "build can have unexpected results if the base image changes",
                            DOC + "workdir-relative-path/"),
    "UndefinedVar": ("Variables should be defined before their use", DOC + "undefined-var/"),
    "MultipleInstructionsDisallowed": (
        "Multiple instructions of the same type should not be used in the same stage",
        DOC + "multiple-instructions-disallowed/"),
    "LegacyKeyValueFormat": ("Legacy key/value format with whitespace separator should not be "
                             "used", DOC + "legacy-key-value-format/"),
    "InvalidBaseImagePlatform": ("Base image platform does not match expected target platform",
                                 ""),
    "RedundantTargetPlatform": ("Setting platform to predefined $TARGETPLATFORM in FROM is "
                                "redundant as this is the default behavior",
                                DOC + "redundant-target-platform/"),
    "SecretsUsedInArgOrEnv": ("Sensitive data should not be used in the ARG or ENV commands",
                              DOC + "secrets-used-in-arg-or-env/"),
    "InvalidDefaultArgInFrom": ("Default value for global ARG results in an empty or invalid base "
                                "image name", DOC + "invalid-default-arg-in-from/"),
    "FromPlatformFlagConstDisallowed": ("FROM --platform flag should not use a constant value",
                                        DOC + "from-platform-flag-const-disallowed/"),
    "CopyIgnoredFile": ("Attempting to Copy file that is excluded by .dockerignore",
                        DOC + "copy-ignored-file/"),
    "InvalidDefinitionDescription": (
        "Comment for build stage or argument should follow the format: `# <arg/stage name> "
        "<description>`. If this is not intended to be a description comment, add an empty line "
        "or comment between the instruction and the comment.",
        DOC + "invalid-definition-description/"),
    "ExposeProtoCasing": ("Protocol in EXPOSE instruction should be lowercase",
                          DOC + "expose-proto-casing/"),
    "ExposeInvalidFormat": ("IP address and host-port mapping should not be used in EXPOSE "
                            "instruction. This will become an error in a future release",
                            DOC + "expose-invalid-format/"),
}


def W(rule, detail, line):
    return (rule, detail, line)


def lint(t, dockerfile, warnings=(), unmarshal=None, build_err=None, build_fails=False,
         dockerignore=None, args=(), check_err=None):
    """checkLinterWarnings: `warnings` (rule, detail, line) from a build and,
    unless `unmarshal` says otherwise, from a check. build_err: the build's
    error contains it (and the check's buildError, unless check_err says
    otherwise: False for none); build_fails: the build fails later, at a
    step, and the check has no error."""
    files = {"Dockerfile": dockerfile}
    if dockerignore is not None:
        files[".dockerignore"] = dockerignore
    t.context(files)
    flags = []
    for k, v in args:
        flags += ["--build-arg", f"{k}={v}"]

    # warntype=progress
    r = t.strata("build", "--progress", "plain", *flags, t.ctx)
    if build_err or build_fails:
        check(r.code != 0, f"the build succeeded; expected {build_err or 'a failure'}")
        if build_err:
            check(build_err in r.stderr, f"expected {build_err!r} in:\n{r.stderr}")
    else:
        check(r.code == 0, f"the build failed:\n{r.stderr}")
    got = sorted(line[len("warning: "):] for line in r.stderr.splitlines()
                 if line.startswith("warning: ") and line[9:].split(":")[0] in RULES)
    want = sorted(f"{rule}: {detail} (line {line})" for rule, detail, line in warnings)
    equal(got, want, "the build's warnings")

    # warntype=unmarshal
    r = t.strata("build", "--call", "check,format=json", *flags, t.ctx)
    res = json.loads(r.stdout)
    expected = warnings if unmarshal is None else unmarshal
    ws = sorted(res["warnings"], key=lambda w: (w["location"]["ranges"][0]["start"]["line"],
                                                w["detail"]))
    equal(len(ws), len(expected), f"the check's warnings: {[w['detail'] for w in ws]}")
    for w, (rule, detail, line) in zip(ws, sorted(expected, key=lambda e: (e[2], e[1]))):
        equal(w["ruleName"], rule)
        equal(w["description"], RULES[rule][0], rule)
        equal(w.get("url", ""), RULES[rule][1], rule)
        equal(w["detail"], detail, rule)
        equal(w["location"]["ranges"][0]["start"]["line"], line, rule)
    want_err = build_err if check_err is None else check_err
    if want_err:
        check("buildError" in res, "the check has no buildError")
        check(want_err in res["buildError"]["message"],
              f"expected {want_err!r} in {res['buildError']['message']!r}")
    else:
        check("buildError" not in res, f"unexpected buildError: {res.get('buildError')}")
    equal(r.code, 1 if expected or want_err else 0, "the check's exit status")


@S.test("testRuleCheckOption")
def _(t):
    body = "FROM scratch as base\ncopy Dockerfile .\n"
    for directive in ["#check=skip=all", "#check=skip=all;error=true",
                      "#check=skip=ConsistentInstructionCasing,FromAsCasing",
                      "#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true"]:
        lint(t, directive + "\n" + body)
    casing = W("FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 2)
    lint(t, "#check=skip=ConsistentInstructionCasing\n" + body, [casing])
    lint(t, "#check=skip=ConsistentInstructionCasing;error=true\n" + body, [casing],
         build_err="lint violation found for rules: FromAsCasing")
    lint(t, "#check=skip=all\n" + body, [casing],
         build_err="lint violation found for rules: FromAsCasing",
         args=[("BUILDKIT_DOCKERFILE_CHECK", "skip=ConsistentInstructionCasing;error=true")])
    lint(t, "#check=error=true\n" + body, args=[("BUILDKIT_DOCKERFILE_CHECK", "skip=all")])


@S.test("testStageName")
def _(t):
    lint(t, """
# warning: stage name should be lowercase
#
FROM scratch AS BadStageName

# warning: 'as' should match 'FROM' cmd casing.
#
FROM scratch as base2

FROM scratch AS base3
""", [W("StageNameCasing", "Stage name 'BadStageName' should be lowercase", 4),
      W("FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 8)])
    lint(t, """
# warning: 'AS' should match 'from' cmd casing.
#
from scratch AS base

from scratch as base2
""", [W("FromAsCasing", "'AS' and 'from' keywords' casing do not match", 4)])


@S.test("testNoEmptyContinuation")
def _(t):
    lint(t, """
FROM scratch
# warning: empty continuation line
COPY Dockerfile \\

.
COPY Dockerfile \\
.
""", [W("NoEmptyContinuation", "Empty continuation line", 6)])


CASING = "Command '{}' should match the case of the command majority ({})"


@S.test("testConsistentInstructionCasing")
def _(t):
    def c(cmd, case, line):
        return W("ConsistentInstructionCasing", CASING.format(cmd, case), line)
    lint(t, "\n# warning: 'FROM' should be either lowercased or uppercased\n#\n"
            "From scratch as base\nFROM scratch AS base2\n", [c("From", "uppercase", 4)])
    lint(t, "\nFROM scratch\n# warning: 'copy' should match command majority's casing "
            "(uppercase)\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n", [c("copy", "uppercase", 4)])
    lint(t, "\n# warning: 'frOM' should be either lowercased or uppercased\n#\n"
            "frOM scratch as base\nfrom scratch as base2\n", [c("frOM", "lowercase", 4)])
    lint(t, "\nfrom scratch\n# warning: 'COPY' should match command majority's casing "
            "(lowercase)\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n", [c("COPY", "lowercase", 4)])
    lint(t, "\n# warning: 'from' should match command majority's casing (uppercase)\n#\n"
            "from scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n",
         [c("from", "uppercase", 4)])
    lint(t, "\n# warning: 'FROM' should match command majority's casing (lowercase)\n#\n"
            "FROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n",
         [c("FROM", "lowercase", 4)])
    lint(t, "\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n")
    lint(t, "\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n")
    # alpine in the Go test; the tests' busybox here.
    lint(t, "\nFROM busybox\nRUN <<'EOT'\nenv\nEOT\n")


@S.test("testDuplicateStageName")
def _(t):
    lint(t, "\nFROM scratch AS b\nFROM scratch AS b\n",
         [W("DuplicateStageName", 'Duplicate stage name "b", stage names should be unique', 3)])
    lint(t, "\nFROM scratch AS b1\nFROM scratch AS b2\n")


@S.test("testReservedStageName")
def _(t):
    reserved = 'Stage name should not use the same name as reserved stage "{}"'
    lint(t, "\nFROM scratch AS scratch\nFROM scratch AS context\n",
         [W("ReservedStageName", reserved.format("scratch"), 2),
          W("ReservedStageName", reserved.format("context"), 3)])
    lint(t, "\nFROM scratch\nFROM scratch AS a\n")


JSONARGS = "JSON arguments recommended for {} to prevent unintended behavior related to OS signals"


@S.test("testJSONArgsRecommended")
def _(t):
    lint(t, "\nFROM scratch\nCMD mycommand\n", [W("JSONArgsRecommended", JSONARGS.format("CMD"), 3)])
    lint(t, "\nFROM scratch\nENTRYPOINT mycommand\n",
         [W("JSONArgsRecommended", JSONARGS.format("ENTRYPOINT"), 3)])
    for cmd in ["CMD", "ENTRYPOINT"]:
        lint(t, f'\nFROM scratch\nSHELL ["/usr/bin/customshell"]\n{cmd} mycommand\n')
        lint(t, f'\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\n'
                f'{cmd} mycommand\n')


MAINTAINER = W("MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label", 3)


@S.test("testMaintainerDeprecated")
def _(t):
    lint(t, "\nFROM scratch\nMAINTAINER me@example.org\n", [MAINTAINER])
    lint(t, '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n')
    lint(t, "\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n")
    lint(t, "\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n")
    lint(t, "\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n")


@S.test("testWarningsBeforeError")
def _(t):
    # BuildKit: "dockerfile parse error on line 4: unknown instruction:
    # BADCMD"; strata: "Dockerfile:4:1: unknown instruction: BADCMD ...".
    lint(t, "\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n",
         [W("StageNameCasing", "Stage name 'BadStageName' should be lowercase", 2),
          W("MaintainerDeprecated", MAINTAINER[1], 3)],
         build_err="unknown instruction: BADCMD")


UNDECLARED = "FROM argument '{}' is not declared{}"


@S.test("testUndeclaredArg")
def _(t):
    lint(t, "\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n")
    lint(t, "\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\n"
            "COPY Dockerfile .\n")
    lint(t, "\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n")
    lint(t, "\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n")
    lint(t, "\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n")
    lint(t, '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n')
    lint(t, "\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n",
         [W("UndefinedArgInFrom", UNDECLARED.format("BULIDPLATFORM", " (did you mean BUILDPLATFORM?)"),
            2)],
         build_err="empty platform value from expression $BULIDPLATFORM (did you mean "
                   "BUILDPLATFORM?)")
    # BuildKit's error goes on with containerd's words for the parse error;
    # strata's has its own between the expression and the suggestion.
    lint(t, "\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n"
            "COPY Dockerfile .\n\t",
         [W("UndefinedArgInFrom", UNDECLARED.format("MYARCH", " (did you mean MY_ARCH?)"), 4)],
         build_err="failed to parse platform linux/${MYARCH}: ")
    r = t.strata("build", "--check", t.ctx)
    check("(did you mean MY_ARCH?)" in r.stdout, r.stdout)
    lint(t, "\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n",
         [W("UndefinedArgInFrom", UNDECLARED.format("version", ""), 3)])


RELATIVE = 'Relative workdir "{}" can have unexpected results if the base image changes'


@S.test("testWorkdirRelativePath")
def _(t):
    lint(t, "\nFROM scratch\nWORKDIR app/\n", [W("WorkdirRelativePath", RELATIVE.format("app/"), 3)])
    lint(t, "\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n")
    lint(t, "\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n")


UNDEFINED = "Usage of undefined variable '${}'{}"


@S.test("testUnmatchedVars")
def _(t):
    lint(t, "\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n")
    # alpine in the Go test; the tests' busybox here (which has a PATH).
    lint(t, "\nFROM busybox AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n")
    lint(t, "\nFROM busybox\nRUN echo $PATH\n")
    lint(t, "\nFROM busybox\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n",
         [W("UndefinedVar", UNDEFINED.format("foo", ""), 3)])
    lint(t, "\nFROM busybox\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\n"
            "ARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t",
         [W("UndefinedVar", UNDEFINED.format("DIR_ASSET", " (did you mean $DIR_ASSETS?)"), 6)])
    lint(t, "\nFROM busybox\nENV PATH=$PAHT:/tmp/bin\n\t\t",
         [W("UndefinedVar", UNDEFINED.format("PAHT", " (did you mean $PATH?)"), 3)])


@S.test("testMultipleInstructionsDisallowed")
def _(t):
    def m(cmd, line):
        return W("MultipleInstructionsDisallowed", f"Multiple {cmd} instructions should not be "
                 "used in the same stage because only the last one will be used", line)
    lint(t, '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\n'
            'CMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
         [m("ENTRYPOINT", 3), m("CMD", 5), m("HEALTHCHECK", 7)])
    lint(t, '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n'
            'COPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\n'
            'HEALTHCHECK CMD ["/myotherapp"]\n',
         [m("ENTRYPOINT", 3), m("CMD", 4), m("HEALTHCHECK", 5)])
    lint(t, '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n'
            '\nFROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\n'
            'HEALTHCHECK CMD ["/myotherapp"]\n')


LEGACY = '"{0} key=value" should be used instead of legacy "{0} key value" format'


@S.test("testLegacyKeyValueFormat")
def _(t):
    lint(t, "\nFROM scratch\nENV testkey value\nLABEL key value\n",
         [W("LegacyKeyValueFormat", LEGACY.format("ENV"), 3),
          W("LegacyKeyValueFormat", LEGACY.format("LABEL"), 4)])
    lint(t, "\nFROM scratch\nENV testkey=value\nLABEL key=value\n")
    # Only the check sees a stage the target does not need.
    lint(t, "\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n",
         unmarshal=[W("LegacyKeyValueFormat", LEGACY.format("ENV"), 5),
                    W("LegacyKeyValueFormat", LEGACY.format("LABEL"), 6)])
    lint(t, "\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n"
            "# check=skip=LegacyKeyValueFormat\nLABEL key value\n")


@S.test("testBaseImagePlatformMismatch")
def _(t):
    # The Go test pushes the image for the other platform to a registry;
    # strata keeps it in its store, where FROM finds it.
    host = "linux/" + {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    other = "linux/arm64" if host == "linux/amd64" else "linux/amd64"
    t.context({"Dockerfile": "\nFROM scratch\nCOPY foo /foo\n", "foo": "test"})
    target = t.image_tag()
    t.build("--platform", other, tag=target)
    lint(t, f"\nFROM {target}\nENV foo=bar\n\t",
         [W("InvalidBaseImagePlatform", f'Base image {target} was pulled with platform "{other}", '
            f'expected "{host}" for current build', 2)],
         args=[])


@S.test("testAllTargetUnmarshal")
def _(t):
    lint(t, "\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n",
         [W("UndefinedVar", UNDEFINED.format("bar", ""), 6)],
         unmarshal=[W("UndefinedVar", UNDEFINED.format("foo", ""), 3),
                    W("UndefinedVar", UNDEFINED.format("bar", ""), 6)])


REDUNDANT = ("Setting platform to predefined {} in FROM is redundant as this is the default "
             "behavior")


@S.test("testRedundantTargetPlatform")
def _(t):
    lint(t, "\nFROM --platform=$TARGETPLATFORM scratch\n",
         [W("RedundantTargetPlatform", REDUNDANT.format("$TARGETPLATFORM"), 2)])
    lint(t, "\nFROM --platform=${TARGETPLATFORM} scratch\n",
         [W("RedundantTargetPlatform", REDUNDANT.format("${TARGETPLATFORM}"), 2)])
    lint(t, "\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n")


SECRET = 'Do not use ARG or ENV instructions for sensitive data ({} "{}")'


@S.test("testSecretsUsedInArgOrEnv")
def _(t):
    lint(t, """# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
""", [W("SecretsUsedInArgOrEnv", SECRET.format(kind, name), line) for kind, name, line in [
        ("ARG", "SECRET_PASSPHRASE", 4), ("ENV", "SUPER_Secret", 5), ("ENV", "password", 6),
        ("ENV", "secret", 6), ("ARG", "auth", 7), ("ARG", "super_duper_secret_token", 7),
        ("ENV", "apikey", 8), ("ENV", "git_key", 9)]])


INVALID_DEFAULT = "Default value for ARG {} results in empty or invalid base image name"


@S.test("testInvalidDefaultArgInFrom")
def _(t):
    lint(t, "\nARG VERSION\nFROM busybox:$VERSION\n",
         [W("InvalidDefaultArgInFrom", INVALID_DEFAULT.format("busybox:$VERSION"), 3)],
         args=[("VERSION", "latest")])
    lint(t, "\nARG IMAGE\nFROM $IMAGE\n",
         [W("InvalidDefaultArgInFrom", INVALID_DEFAULT.format("$IMAGE"), 3)],
         args=[("IMAGE", "busybox:latest")])
    lint(t, '\nARG SFX="box:"\nFROM busy${SFX}\n',
         [W("InvalidDefaultArgInFrom", INVALID_DEFAULT.format("busy${SFX}"), 3)],
         args=[("SFX", "box:latest")])
    lint(t, '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n', args=[("VERSION", "latest")])
    # Docker Hub's busybox:stable-musl: the tests' busybox under that name.
    r = t.strata("tag", "busybox", "busybox:stable-musl")
    check(r.code == 0, r.stderr)
    lint(t, '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n',
         args=[("BUSYBOX_VARIANT", "-musl")])
    lint(t, "\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t",
         args=[("BUSYBOX_VARIANT", "-musl")])


@S.test("testFromPlatformFlagConstDisallowed")
def _(t):
    lint(t, "\nFROM --platform=linux/amd64 scratch\n",
         [W("FromPlatformFlagConstDisallowed",
            'FROM --platform flag should not use constant value "linux/amd64"', 2)])
    lint(t, "\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n")
    lint(t, "\nFROM --platform=linux/amd64 scratch AS linux\n")


IGNORED = 'Attempting to {} file "{}" that is excluded by .dockerignore'


@S.test("testCopyIgnoredFiles")
def _(t):
    ignored = [W("CopyIgnoredFile", IGNORED.format("Copy", "Dockerfile"), 3),
               W("CopyIgnoredFile", IGNORED.format("Add", "Dockerfile"), 4)]
    df = "\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n"
    # The build then fails: the file is not in the context it sees.
    lint(t, df, ignored, dockerignore="\nDockerfile\n", build_fails=True)
    lint(t, "# check=skip=CopyIgnoredFile\n" + df, dockerignore="\nDockerfile\n",
         build_fails=True)
    lint(t, "\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\n"
            "FROM base\nCOPY --from=base /foobar /Dockerfile\n", dockerignore="\nfoobar\n")
    lint(t, "\nFROM scratch\nCOPY ./Dockerfile .\n", dockerignore="\n**\n!Dockerfile\n")
    lint(t, "\nFROM scratch\nCOPY . .\n\t", dockerignore="\n**\n!Dockerfile\n")


@S.test("testCopyIgnoredFileContextRoot")
def _(t):
    lint(t, "\nFROM scratch\nCOPY . .\n", dockerignore="\n.*\n")
    lint(t, "\nFROM scratch\nCOPY . .\n", [W("CopyIgnoredFile", IGNORED.format("Copy", "."), 3)],
         dockerignore="\n*\n")


DESCRIPTION = "Comment for {} should follow the format: `# {} <description>`"


@S.test("testDefinitionDescription")
def _(t):
    lint(t, """# check=skip=all;experimental=InvalidDefinitionDescription
# foo this is the foo
ARG foo=bar

# base this is the base image
FROM scratch AS base

# version this is the version number
ARG version=latest

# baz this is the baz
ARG foo=baz bar=qux baz=quux
#
ARG bit=bat

# comment for something other than ARG or FROM
COPY Dockerfile .
""")
    lint(t, """# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# definitely a bad comment
ARG foo=baz bar=qux baz=quux
""", [W("InvalidDefinitionDescription", DESCRIPTION.format(kind, name), line) for kind, name, line in [
        ("ARG", "foo", 3), ("FROM", "base", 5), ("ARG", "version", 7), ("ARG", "<arg_key>", 9)]])


@S.test("testExposeProtoCasing")
def _(t):
    casing = "Defined protocol '{}' in EXPOSE instruction should be lowercase"
    lint(t, "\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n",
         [W("ExposeProtoCasing", casing.format("80/TcP"), 3),
          W("ExposeProtoCasing", casing.format("8080/TCP"), 3)])


@S.test("testExposeInvalidFormat")
def _(t):
    invalid = ("EXPOSE instruction should not define an IP address or host-port mapping, "
               "found '{}'")
    lint(t, "\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n",
         [W("ExposeInvalidFormat", invalid.format(p), 3)
          for p in ["127.0.0.1:80:80", "[::1]:8080:8080", "5000:5000"]])


if __name__ == "__main__":
    S.run()
