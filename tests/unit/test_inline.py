from __future__ import annotations

import ast
import random
import textwrap

import pytest

from snapq._snapshots.inline import (
    Change,
    RewriteError,
    decode_source,
    normalize,
    rewrite,
    string_literal,
)

# The call under test sits between HEAD and TAIL, at line LINE, column 4; nothing in
# HEAD or TAIL may change, byte for byte.
HEAD = '''\
"""A test module: é, 漢字, 😀."""

import os  # a comment (with parentheses)


def helper(value="assert_query(x)"):
    return value  # sql="kept"


def test_it():
'''
TAIL = """\
    assert os.sep  # after the call


def test_other():
    assert_query(other)
"""
LINE = HEAD.count("\n") + 1


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def in_test(text: str) -> str:
    """Return ``code(text)`` indented as a statement in a test function."""
    return textwrap.indent(code(text), "    ")


def sql(value: str, *, line: int = LINE, column: int = 4) -> Change:
    return Change(line, column, "sql", value)


def results(value: str, *, line: int = LINE, column: int = 4) -> Change:
    return Change(line, column, "results", value)


def rewritten(source: str, *changes: Change) -> str:
    """Rewrite ``source``, check that the result parses, and return it."""
    text = rewrite(source, changes).text
    ast.parse(text)
    return text


def rewrite_call(call: str, *changes: Change) -> str:
    """Rewrite the call ``call`` between HEAD and TAIL; return what became of it."""
    text = rewritten(HEAD + call + TAIL, *changes)
    assert text.startswith(HEAD)
    assert text.endswith(TAIL)
    return text[len(HEAD) : len(text) - len(TAIL)]


def literal_value(source: str, line: int, name: str) -> str:
    """Return the value of keyword ``name`` of the call that starts on ``line``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.lineno == line:
            for keyword in node.keywords:
                if keyword.arg == name:
                    assert isinstance(keyword.value, ast.Constant)
                    assert isinstance(keyword.value.value, str)
                    return keyword.value.value
    raise AssertionError(f"no {name}= in a call on line {line}")


# normalize --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("SELECT 1", "SELECT 1"),
        ("\n    SELECT a\n    FROM t\n", "SELECT a\nFROM t"),
        ("\n\n  \n    a\n      b\n    \n\n", "a\n  b"),
        ("a   \nb\t\n", "a\nb"),
        ("  a\n\n\n  b", "a\n\n\nb"),
        ("a\r\nb\r\n", "a\r\nb\r"),  # a carriage return is part of a value
        ("", ""),
        ("\n   \n\t\n", ""),
        ("\ta\n\tb", "a\nb"),
        ("  x\n y", " x\ny"),
    ],
)
def test_normalize(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_normalize_is_idempotent() -> None:
    text = "\n      ┌───┐\n      │ a │  \n\n      └───┘\n    "
    assert normalize(normalize(text)) == normalize(text)


# string_literal ---------------------------------------------------------------------

AWKWARD = [
    "",
    "plain",
    "SELECT a\nFROM t\nWHERE b = 'x'",
    "back\\slash",
    "ends with a backslash\\",
    "\\",
    "\\\\",
    "\\n is not a newline",
    "\\N{BULLET} \\u00e9 \\x41",
    'triple """ double',
    '"""',
    "triple ''' single",
    "'''",
    "both \"\"\" and '''",
    "both ''' and \"\"\" and a \\ too",
    '""""quadruple""""',
    'ends with a quote"',
    "ends with a quote'",
    '"starts with a quote',
    "tab\there",
    "\tindented with a tab\n\tand again",
    "  indented\n    more\n  less",
    "blank\n\nlines\n\n\ninside",
    "unicode: é, 漢字, 😀, \u200b, \u00a0",
    "┌───┐\n│ a │\n└───┘\n(1 row)",
    "'NULL'\n''\n\"'x\"",
    "#not a comment",
    '{1,"a b",NULL}',
]


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("indent", ["", "    ", "\t\t"])
def test_string_literal_round_trips(value: str, newline: str, indent: str) -> None:
    literal = string_literal(value, indent=indent, newline=newline)
    assert normalize(ast.literal_eval(literal.replace("\r\n", "\n"))) == normalize(value)
    if newline == "\r\n":
        assert "\n" not in literal.replace("\r\n", "")


def test_string_literal_round_trips_random_text() -> None:
    """Stand-in for a hypothesis property (not installed): many seeded random strings."""
    pieces = [
        *"ab \t\n\r\\\"'#{}é漢😀\x0c\x0b\x85\u2028",
        '"""',
        "'''",
        "\\N",
        "\\u",
        "\\\n",
        "\r\n",
        "    ",
    ]
    generator = random.Random(20240229)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(2000):
        value = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 16)))
        literal = string_literal(value, indent="    ")
        assert normalize(ast.literal_eval(literal)) == normalize(value), repr(value)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("SELECT 1", '"""\n        SELECT 1\n    """'),
        ("a\n  b\n\nc", '"""\n        a\n          b\n\n        c\n    """'),
        ("a\\b", 'r"""\n        a\\b\n    """'),
        ('say """hi"""', "'''\n        say \"\"\"hi\"\"\"\n    '''"),
        ("both \"\"\" '''\\", '"""\n        both \\"\\"\\" \'\'\'\\\\\n    """'),
    ],
)
def test_string_literal_is_triple_quoted_and_indented_one_level(value: str, literal: str) -> None:
    assert string_literal(value, indent="    ") == literal


def test_string_literal_writes_the_normalized_value() -> None:
    assert string_literal("\n   x  \n     y\n\n", indent="") == '"""\n    x\n      y\n"""'


# rewrite: insertion -----------------------------------------------------------------


def test_insertion_opens_up_a_one_line_call() -> None:
    call = rewrite_call("    assert_query(stmt)\n", sql("SELECT 1"))
    assert call == in_test(
        '''
            assert_query(
                stmt,
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_into_a_call_without_arguments() -> None:
    call = rewrite_call("    assert_query()\n", sql("SELECT 1"))
    assert call == in_test(
        '''
            assert_query(
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_puts_every_argument_of_a_one_line_call_on_its_own_line() -> None:
    call = rewrite_call("    assert_query(stmt, connection=c)\n", sql("SELECT 1"))
    assert call == in_test(
        '''
            assert_query(
                stmt,
                connection=c,
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_into_a_one_line_call_with_several_arguments_parses() -> None:
    call = rewrite_call("    assert_query(stmt, connection=c)\n", sql("SELECT 1"))
    assert literal_value(HEAD + call + TAIL, LINE, "sql") == "\n            SELECT 1\n        "
    assert "connection=c" in call


@pytest.mark.parametrize("comma", ["", ","])
def test_insertion_into_a_multi_line_call(comma: str) -> None:
    call = rewrite_call(
        f"    assert_query(\n        stmt,\n        connection=c{comma}\n    )\n", sql("SELECT 1")
    )
    assert call == in_test(
        '''
            assert_query(
                stmt,
                connection=c,
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_when_the_closing_parenthesis_follows_the_last_argument() -> None:
    call = rewrite_call("    assert_query(\n        stmt)\n", sql("SELECT 1"))
    assert call == in_test(
        '''
            assert_query(
                stmt,
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_follows_the_indentation_of_aligned_arguments() -> None:
    call = rewrite_call("    assert_query(stmt,\n                 connection=c)\n", sql("x"))
    assert call == in_test(
        '''
            assert_query(stmt,
                         connection=c,
                         sql="""
                             x
                         """,
            )
        '''
    )


@pytest.mark.parametrize("comma", [",", ""])
def test_insertion_keeps_a_comment_on_the_last_argument_line(comma: str) -> None:
    call = rewrite_call(
        f"    assert_query(\n        stmt,\n        connection=c{comma}  # the test's own\n    )\n",
        sql("SELECT 1"),
    )
    assert call == in_test(
        '''
            assert_query(
                stmt,
                connection=c,  # the test's own
                sql="""
                    SELECT 1
                """,
            )
        '''
    )


def test_insertion_after_a_comment_containing_a_comma_and_parenthesis() -> None:
    call = rewrite_call(
        "    assert_query(\n        stmt  # (a, b)\n    )\n",
        sql("SELECT 1"),
    )
    assert literal_value(HEAD + call + TAIL, LINE, "sql") == "\n            SELECT 1\n        "
    assert "# (a, b)" in call


def test_insertion_of_sql_then_results_in_that_order() -> None:
    call = rewrite_call(
        "    assert_query(stmt)\n",
        sql("SELECT a\nFROM t"),
        results("┌───┐\n│ a │\n└───┘\n(0 rows)"),
    )
    assert call == in_test(
        '''
            assert_query(
                stmt,
                sql="""
                    SELECT a
                    FROM t
                """,
                results="""
                    ┌───┐
                    │ a │
                    └───┘
                    (0 rows)
                """,
            )
        '''
    )


def test_insertion_after_double_star_arguments() -> None:
    call = rewrite_call("    assert_query(stmt, **options)\n", sql("x"))
    assert "**options," in call
    assert literal_value(HEAD + call + TAIL, LINE, "sql") == "\n            x\n        "


def test_insertion_of_a_value_with_backslashes_and_quotes() -> None:
    value = "WHERE a = 'x\\y' AND b = '\"\"\"'"
    call = rewrite_call("    assert_query(stmt)\n", results(value))
    assert normalize(literal_value(HEAD + call + TAIL, LINE, "results")) == value


def test_insertion_after_a_parenthesized_argument() -> None:
    call = rewrite_call(
        "    assert_query(\n"
        "        (\n"
        "            select(t)\n"
        "            .where(x)\n"
        "        ),\n"
        "    )\n",
        sql("SELECT 1"),
    )
    assert literal_value(HEAD + call + TAIL, LINE, "sql") == "\n            SELECT 1\n        "


def test_insertion_into_the_outer_of_two_calls_that_start_together() -> None:
    call = rewrite_call("    partial(assert_query, connection=c)(stmt)\n", sql("SELECT 1"))
    tree = ast.parse(HEAD + call + TAIL)
    outer = next(
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and node.lineno == LINE
    )
    assert [keyword.arg for keyword in outer.keywords] == ["sql"]


# rewrite: replacement ---------------------------------------------------------------


@pytest.mark.parametrize(
    "old",
    [
        "'SELECT 2'",
        '"SELECT 2"',
        'r"SELECT \\2"',
        "'''SELECT 2'''",
        '"""\n        SELECT 2\n    """',
        "u'x'",
    ],
)
def test_replacement_of_an_existing_literal(old: str) -> None:
    call = rewrite_call(
        f"    assert_query(\n        stmt,\n        sql={old},\n    )\n", sql("SELECT 1\nFROM t")
    )
    assert call == in_test(
        '''
            assert_query(
                stmt,
                sql="""
                    SELECT 1
                    FROM t
                """,
            )
        '''
    )


def test_replacement_of_both_keywords_on_one_line() -> None:
    call = rewrite_call(
        "    assert_query(stmt, sql='SELECT 2', results=r'x\\y')\n",
        sql("SELECT 1"),
        results("a\\b"),
    )
    source = HEAD + call + TAIL
    assert normalize(literal_value(source, LINE, "sql")) == "SELECT 1"
    assert normalize(literal_value(source, LINE, "results")) == "a\\b"


def test_replacement_after_non_ascii_on_the_same_line() -> None:
    call = rewrite_call('    assert_query(stmt, sql="é漢😀", results="x")  # ü\n', results("y"))
    assert call == in_test(
        '''
            assert_query(stmt, sql="é漢😀", results="""
                    y
                """)  # ü
        '''
    )


def test_replacement_inside_parentheses_of_concatenated_strings() -> None:
    call = rewrite_call('    assert_query(stmt, sql=("SELECT "\n        "2"))\n', sql("SELECT 1"))
    assert normalize(literal_value(HEAD + call + TAIL, LINE, "sql")) == "SELECT 1"


@pytest.mark.parametrize("value", ["the_sql", 'f"SELECT {n}"', "'a' + 'b'", "b'bytes'", "None"])
def test_replacement_of_anything_but_a_string_literal_is_refused(value: str) -> None:
    source = HEAD + f"    assert_query(stmt, sql={value})\n" + TAIL
    with pytest.raises(RewriteError, match="sql= is not a string literal"):
        rewrite(source, [sql("SELECT 1")])


def test_a_refused_change_refuses_the_whole_file() -> None:
    source = HEAD + "    assert_query(stmt, sql=the_sql)\n" + TAIL
    fine = sql("SELECT 1", line=LINE + 5)  # assert_query(other) in TAIL
    assert rewrite(HEAD + "    assert_query(stmt)\n" + TAIL, [fine]).applied == (fine,)
    with pytest.raises(RewriteError):
        rewrite(source, [fine, sql("SELECT 1")])


def test_a_replacement_equal_to_the_current_text_is_a_no_op() -> None:
    source = code(
        '''
        def test_it():
            assert_query(
                stmt,
                sql="""
                    SELECT 1
                """,
                results='old',
            )
        '''
    )
    result = rewrite(
        source, [Change(2, 4, "sql", "\n  SELECT 1  \n"), Change(2, 4, "results", "new")]
    )
    assert result.applied == (Change(2, 4, "results", "new"),)
    assert literal_value(result.text, 2, "results") == "\n            new\n        "
    assert result.text.startswith(source[: source.index("results=")])


def test_only_no_op_changes_leave_the_text_identical() -> None:
    source = code(
        '''
        def test_it():
            assert_query(
                stmt,
                sql="""
                    SELECT 1
                """,
            )
        '''
    )
    result = rewrite(source, [Change(2, 4, "sql", "SELECT 1")])
    assert result.text == source
    assert result.applied == ()


def test_no_changes_leave_the_text_identical() -> None:
    source = HEAD + "    assert_query(stmt)\n" + TAIL
    assert rewrite(source, []) == rewrite(source, ())
    assert rewrite(source, []).text == source


# rewrite: several calls, nesting, newlines, positions -------------------------------


def test_several_calls_in_one_test_and_in_one_file() -> None:
    source = code(
        """
        def test_first():
            assert_query(a)
            assert_query(b, sql='old')


        def test_second():
            assert_query(
                c,
            )
        """
    )
    changes = [
        Change(2, 4, "sql", "A"),
        Change(3, 4, "sql", "B"),
        Change(3, 4, "results", "b rows"),
        Change(7, 4, "results", "c rows"),
    ]
    result = rewrite(source, changes)
    assert result.applied == tuple(sorted(changes))
    assert result.text == code(
        '''
        def test_first():
            assert_query(
                a,
                sql="""
                    A
                """,
            )
            assert_query(
                b,
                sql="""
                    B
                """,
                results="""
                    b rows
                """,
            )


        def test_second():
            assert_query(
                c,
                results="""
                    c rows
                """,
            )
        '''
    )


def test_a_call_in_a_loop_inside_with_blocks() -> None:
    source = code(
        """
        def test_loop(connection):
            with connection.begin():
                with open("f") as f, lock:
                    for row in range(3):
                        assert_query(select(t).where(t.c.x == row))
            done()
        """
    )
    result = rewritten(source, Change(5, 16, "sql", "SELECT x"))
    assert result == code(
        '''
        def test_loop(connection):
            with connection.begin():
                with open("f") as f, lock:
                    for row in range(3):
                        assert_query(
                            select(t).where(t.c.x == row),
                            sql="""
                                SELECT x
                            """,
                        )
            done()
        '''
    )


def test_a_call_indented_with_tabs_stays_tab_indented() -> None:
    source = "def test_it():\n\tassert_query(stmt)\n"
    assert rewritten(source, Change(2, 1, "sql", "x")) == (
        "def test_it():\n"
        "\tassert_query(\n"
        "\t    stmt,\n"
        '\t    sql="""\n'
        "\t        x\n"
        '\t    """,\n'
        "\t)\n"
    )


@pytest.mark.parametrize(
    "call",
    [
        "    assert_query(stmt)\n",
        "    assert_query(\n        stmt,\n        sql='old',\n    )\n",
        "    assert_query(stmt, connection=c)  # comment\n",
    ],
)
def test_crlf_files_keep_crlf_everywhere(call: str) -> None:
    lf = HEAD + call + TAIL
    crlf = lf.replace("\n", "\r\n")
    changes = [sql("SELECT a\nFROM t"), results("x\n\ny")]
    result = rewritten(crlf, *changes)
    assert "\n" not in result.replace("\r\n", "")
    assert "\r" not in result.replace("\r\n", "")
    assert result == rewritten(lf, *changes).replace("\n", "\r\n")


def test_a_file_without_a_final_newline() -> None:
    source = "def test_it():\n    assert_query(stmt)"
    assert rewritten(source, Change(2, 4, "sql", "x")).endswith("\n    )")


def test_columns_are_characters_although_ast_counts_utf8_bytes() -> None:
    prefix = '    label = "é漢😀"; '
    source = HEAD + prefix + "assert_query(stmt)\n" + TAIL
    column = len(prefix)
    call = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and node.lineno == LINE
    )
    assert call.col_offset != column  # the point of this test
    result = rewritten(source, sql("SELECT 1", column=column))
    assert result.startswith(HEAD + prefix + "assert_query(\n        stmt,\n")
    assert result.endswith(TAIL)
    assert literal_value(result, LINE, "sql") == "\n            SELECT 1\n        "


def test_the_byte_column_of_a_call_after_non_ascii_is_not_a_call() -> None:
    prefix = '    label = "é漢😀"; '
    source = HEAD + prefix + "assert_query(stmt)\n" + TAIL
    byte_column = len(prefix.encode("utf-8"))
    with pytest.raises(RewriteError, match="no call at line"):
        rewrite(source, [sql("SELECT 1", column=byte_column)])


@pytest.mark.parametrize(
    ("line", "column"),
    [(LINE, 5), (LINE, 0), (LINE + 1, 4), (1, 0), (999, 0)],
)
def test_a_change_where_there_is_no_call_is_refused(line: int, column: int) -> None:
    source = HEAD + "    assert_query(stmt)\n" + TAIL
    with pytest.raises(RewriteError, match=f"no call at line {line}, column {column + 1}"):
        rewrite(source, [sql("x", line=line, column=column)])


def test_a_file_that_does_not_parse_is_refused() -> None:
    with pytest.raises(RewriteError, match="does not parse"):
        rewrite("def test_it(:\n    assert_query(stmt)\n", [Change(2, 4, "sql", "x")])


def test_the_last_change_for_a_keyword_wins() -> None:
    source = "assert_query(stmt)\n"
    result = rewrite(source, [Change(1, 0, "sql", "first"), Change(1, 0, "sql", "second")])
    assert normalize(literal_value(result.text, 1, "sql")) == "second"


@pytest.mark.parametrize("value", AWKWARD)
def test_rewritten_literals_hold_the_value(value: str) -> None:
    source = HEAD + "    assert_query(stmt)\n" + TAIL
    result = rewritten(source, results(value))
    assert result.startswith(HEAD)
    assert result.endswith(TAIL)
    assert normalize(literal_value(result, LINE, "results")) == normalize(value)


# decode_source ----------------------------------------------------------------------


def test_decode_source_defaults_to_utf8() -> None:
    assert decode_source("x = 'é'\n".encode()) == ("x = 'é'\n", "utf-8")


def test_decode_source_honours_a_coding_declaration() -> None:
    data = "# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1")
    text, encoding = decode_source(data)
    assert text == "# -*- coding: latin-1 -*-\nx = 'é'\n"
    assert encoding == "iso-8859-1"
    assert text.encode(encoding) == data


def test_decode_source_honours_a_bom() -> None:
    data = b"\xef\xbb\xbfx = '\xc3\xa9'\n"
    text, encoding = decode_source(data)
    assert text == "x = 'é'\n"
    assert encoding == "utf-8-sig"
    assert text.encode(encoding) == data


def test_decode_source_refuses_bytes_that_are_not_its_encoding() -> None:
    with pytest.raises(SyntaxError, match="encoding declaration"):
        decode_source(b"x = '\xe9'\n")
