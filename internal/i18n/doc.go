// Package i18n is fieldcase's one message catalogue: the language a run
// speaks, its messages with their plural forms, and the locale's way with
// dates, numbers and the week.
//
// Messages live in locales/<lang>.toml and locales/<part>.<lang>.toml
// (embedded; a language's files make one catalogue), read by go-i18n, whose
// plural rules are CLDR's: English has one and other, Welsh zero, one, two,
// few, many and other (0, 1, 2, 3, 6, the rest). Code names a message by id,
// always as a string literal at the call (l.T("agenda.nothing")), so a test
// can find every id the code uses and check both catalogues have it.
//
// The language is chosen once per run (Select): the --lang flag, then the
// settings file's lang, then LC_ALL, LC_MESSAGES and LANG as POSIX orders
// them; English when none names a language fieldcase has.
package i18n
