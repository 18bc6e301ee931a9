/*-------------------------------------------------------------------------
 *
 * password_policy.h
 *	  The password policy of console users and database roles: the
 *	  settings, the rules, the blocklist and the password hash.
 *
 * The pieces live in three files: password_policy.c (settings, rules,
 * the SQL-callable checks and the role hook), password_blocklist.c (the
 * common-password list and the breached-password service) and
 * password_hash.c (argon2id).
 *
 * extension/password_policy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PASSWORD_POLICY_H
#define PASSWORD_POLICY_H

#include "lib/stringinfo.h"

/* Settings (commitopt.password_*), defined in password_policy.c. */
extern int	password_min_length;
extern int	password_max_length;
extern int	password_min_classes;
extern int	password_history_size;
extern bool password_check_blocklist;
extern bool password_check_personal_data;
extern bool password_breach_check;
extern char *password_breach_url;
extern int	password_breach_timeout_ms;
extern char *password_breach_ca_file;
extern int	password_hash_memory_kib;
extern int	password_hash_iterations;
extern int	password_hash_parallelism;

/* password_blocklist.c */
extern bool password_is_common(const char *lowered, int len);
extern bool password_is_breached(const char *password, int len);
extern void password_lower_ascii(char *dst, const char *src, int len);
extern void password_undo_substitutions(char *s, int len, char one_as);

/* password_hash.c */
typedef enum PasswordHashMatch
{
	PASSWORD_HASH_MISMATCH,
	PASSWORD_HASH_MATCH,
	PASSWORD_HASH_UNREADABLE	/* not a hash this module accepts */
} PasswordHashMatch;

extern char *password_hash_make(const char *password, int len);
extern PasswordHashMatch password_hash_compare(const char *encoded,
											   const char *password, int len);
extern bool password_hash_matches(const char *encoded, const char *password,
								  int len);
extern bool password_hash_is_weak(const char *encoded);
extern void password_hash_validate(const char *encoded);

#endif							/* PASSWORD_POLICY_H */
