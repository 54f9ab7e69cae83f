/*
 * banned.h - functions that invite buffer overruns, made compile errors.
 * Include it last, after every system header.
 */
#ifndef VS_BANNED_H
#define VS_BANNED_H

#define VS_BANNED(func) sorry_##func##_is_banned_in_varve

#undef strcpy
#define strcpy(x, y) VS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) VS_BANNED(strcat)
#undef sprintf
#define sprintf(...) VS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) VS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) VS_BANNED(strtok)
#undef mktemp
#define mktemp(x) VS_BANNED(mktemp)
#undef gets
#define gets(x) VS_BANNED(gets)

#endif
