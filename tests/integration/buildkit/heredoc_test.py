"""moby/buildkit frontend/dockerfile/dockerfile_heredoc_test.go, ported.

The Dockerfiles are the Go tests' own (their Linux variants), byte for byte.
"""

from bk import Suite, equal

suite = Suite("dockerfile_heredoc_test.go")

CASES = {
    'testCopyHeredoc': ('\nFROM busybox AS build\n\nRUN adduser -D user\nWORKDIR /dest\n\nCOPY <<EOF single\nsingle file\nEOF\n\nCOPY <<EOF <<EOF2 double/\nfirst file\nEOF\nsecond file\nEOF2\n\nRUN mkdir -p /permfiles\nCOPY --chmod=777 <<EOF /permfiles/all\ndummy content\nEOF\nCOPY --chmod=0644 <<EOF /permfiles/rw\ndummy content\nEOF\nCOPY --chown=user:user <<EOF /permfiles/owned\ndummy content\nEOF\nRUN stat -c "%04a" /permfiles/all >> perms && \\\n\tstat -c "%04a" /permfiles/rw >> perms && \\\n\tstat -c "%U:%G" /permfiles/owned >> perms\n\nFROM scratch\nCOPY --from=build /dest /\n',
        {'single': 'single file\n', 'double/EOF': 'first file\n', 'double/EOF2': 'second file\n', 'perms': '0777\n0644\nuser:user\n'}),
    'testCopyHeredocSpecialSymbols': ('\nFROM scratch\n\nCOPY <<EOF quotefile\n"quotes in file"\nEOF\n\nCOPY <<EOF slashfile1\n\\\nEOF\nCOPY <<EOF slashfile2\n\\\\\nEOF\nCOPY <<EOF slashfile3\n\\$\nEOF\n\nCOPY <<"EOF" rawslashfile1\n\\\nEOF\nCOPY <<"EOF" rawslashfile2\n\\\\\nEOF\nCOPY <<"EOF" rawslashfile3\n\\$\nEOF\n',
        {'quotefile': '"quotes in file"\n', 'slashfile1': '\n', 'slashfile2': '\\\n', 'slashfile3': '$\n', 'rawslashfile1': '\\\n', 'rawslashfile2': '\\\\\n', 'rawslashfile3': '\\$\n'}),
    'testRunBasicHeredoc': ('\nFROM busybox AS build\n\nRUN <<EOF\necho "i am" >> /dest\nwhoami >> /dest\nEOF\n\nFROM scratch\nCOPY --from=build /dest /dest\n',
        {'dest': 'i am\nroot\n'}),
    'testRunFakeHeredoc': ('\nFROM busybox AS build\n\nSHELL ["/bin/awk"]\nRUN <<EOF\nBEGIN {\n\tprint "foo" > "/dest"\n}\nEOF\n\nFROM scratch\nCOPY --from=build /dest /dest\n',
        {'dest': 'foo\n'}),
    'testRunShebangHeredoc': ('\nFROM busybox AS build\n\nWORKDIR /dest\n\nRUN <<EOF\n#!/bin/awk -f\nBEGIN {\n\tprint "hello" >> "./out1"\n\tprint "world" >> "./out1"\n}\nEOF\n\nRUN <<-EOF\n\t#!/bin/awk -f\n\tBEGIN {\n\t\tprint "hello" >> "./out2"\n\t\tprint "world" >> "./out2"\n\t}\nEOF\n\nFROM scratch\nCOPY --from=build /dest /\n',
        {'out1': 'hello\nworld\n', 'out2': 'hello\nworld\n'}),
    'testRunComplexHeredoc': ('\nFROM busybox AS build\n\nWORKDIR /dest\n\nRUN cat <<EOF1 | tr \'[:upper:]\' \'[:lower:]\' > ./out1; \\\n\tcat <<EOF2 | tr \'[:lower:]\' \'[:upper:]\' > ./out2\nhello WORLD\nEOF1\nHELLO world\nEOF2\n\nRUN <<EOF 3<<IN1 4<<IN2 awk -f -\nBEGIN {\n\twhile ((getline line < "/proc/self/fd/3") > 0)\n\t\tprint tolower(line) > "./fd3"\n\twhile ((getline line < "/proc/self/fd/4") > 0)\n\t\tprint toupper(line) > "./fd4"\n}\nEOF\nhello WORLD\nIN1\nHELLO world\nIN2\n\nFROM scratch\nCOPY --from=build /dest /\n',
        {'out1': 'hello world\n', 'out2': 'HELLO WORLD\n', 'fd3': 'hello world\n', 'fd4': 'HELLO WORLD\n'}),
    'testHeredocIndent': ('\nFROM busybox AS build\n\nCOPY <<EOF /dest/foo-copy\n\tfoo\nEOF\n\nCOPY <<-EOF /dest/bar-copy\n\tbar\nEOF\n\nRUN <<EOF\necho "\n\tfoo" > /dest/foo-run\nEOF\n\nRUN <<-EOF\necho "\n\tbar" > /dest/bar-run\nEOF\n\nRUN <<EOF\n#!/bin/sh\necho "\n\tfoo" > /dest/foo2-run\nEOF\n\nRUN <<-EOF\n#!/bin/sh\necho "\n\tbar" > /dest/bar2-run\nEOF\n\nRUN <<EOF sh > /dest/foo3-run\necho "\n\tfoo"\nEOF\n\nRUN <<-EOF sh > /dest/bar3-run\necho "\n\tbar"\nEOF\n\nFROM scratch\nCOPY --from=build /dest /\n',
        {'foo-copy': '\tfoo\n', 'foo-run': '\n\tfoo\n', 'foo2-run': '\n\tfoo\n', 'foo3-run': '\n\tfoo\n', 'bar-copy': 'bar\n', 'bar-run': '\nbar\n', 'bar2-run': '\nbar\n', 'bar3-run': '\nbar\n'}),
    'testHeredocVarSubstitution': ('\nFROM busybox as build\n\nARG name=world\n\nCOPY <<EOF /dest/c1\nHello ${name}!\nEOF\nCOPY <<\'EOF\' /dest/c2\nHello ${name}!\nEOF\nCOPY <<"EOF" /dest/c3\nHello ${name}!\nEOF\n\nCOPY <<EOF /dest/q1\nHello \'${name}\'!\nEOF\nCOPY <<EOF /dest/q2\nHello "${name}"!\nEOF\nCOPY <<\'EOF\' /dest/qsingle1\nHello \'${name}\'!\nEOF\nCOPY <<\'EOF\' /dest/qsingle2\nHello "${name}"!\nEOF\nCOPY <<"EOF" /dest/qdouble1\nHello \'${name}\'!\nEOF\nCOPY <<"EOF" /dest/qdouble2\nHello "${name}"!\nEOF\n\nRUN <<EOF\ngreeting="Hello"\necho "${greeting} ${name}!" > /dest/r1\nEOF\nRUN <<EOF\nname="new world"\necho "Hello ${name}!" > /dest/r2\nEOF\n\nFROM scratch\nCOPY --from=build /dest /\n',
        {'c1': 'Hello world!\n', 'c2': 'Hello ${name}!\n', 'c3': 'Hello ${name}!\n', 'q1': "Hello 'world'!\n", 'q2': 'Hello "world"!\n', 'qsingle1': "Hello '${name}'!\n", 'qsingle2': 'Hello "${name}"!\n', 'qdouble1': "Hello '${name}'!\n", 'qdouble2': 'Hello "${name}"!\n', 'r1': 'Hello world!\n', 'r2': 'Hello new world!\n'}),
}


for case_name, (dockerfile, files) in CASES.items():
    suite.dockerfile_case(case_name, dockerfile, files)


@suite.test("testOnBuildHeredoc")
def _(t):
    # The Go test pushes the base to a registry; the store holds it here.
    t.context({"Dockerfile": '\nFROM busybox\nONBUILD RUN <<EOF\necho "hello world" >> /dest\nEOF\n'})
    base = t.image_tag()
    t.build(tag=base)
    t.context({"Dockerfile": f"\n\tFROM {base} AS base\n\tFROM scratch\n\tCOPY --from=base /dest /dest\n\t"})
    t.build(local=True)
    equal(t.read("dest"), "hello world\n")


suite.run()
