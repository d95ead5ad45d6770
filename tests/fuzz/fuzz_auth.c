/* libFuzzer entry for the untrusted auth inputs: the NTLM CHALLENGE message
 * (and, after it, the server's mechListMIC check) and the SPNEGO tokens a
 * server sends.  Build with clang
 * -fsanitize=fuzzer,address,undefined -Iinclude, this file, every .c under
 * src/auth, src/crypto and src/util (NTLMSSP's UTF-16), and -lcrypto -lpthread.
 * The first input byte selects the parser so one corpus covers all three. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "smb2fs/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t key[16] = { 0x55 };
	struct ntlm_creds cr = { .user = "User", .domain = "Domain", .password = "Password",
				 .workstation = "WS", .target_name = "cifs/fuzz", .guest = false };
	struct ntlm_test_overrides ov = { .client_challenge = cc, .exported_session_key = key,
					  .timestamp = 1 };
	struct spnego_hints h;
	struct ntlm_ctx *ctx;
	const uint8_t *tok, *mic, *types;
	uint8_t *out = NULL, sk[16], sig[16];
	size_t out_len = 0, tok_len, mic_len, types_len;
	int state;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		cr.guest = (data[0] & 0x80) != 0;
		if (ntlm_ctx_new(&cr, &ctx) != 0)
			return 0;
		/* Deterministic, so a crash reproduces from its input alone. */
		ntlm_ctx_set_test_overrides(ctx, &ov);
		/* The NEGOTIATE first: a CHALLENGE with a timestamp gets a MIC
		 * over it. */
		if (ntlm_negotiate(ctx, &out, &out_len) != 0) {
			ntlm_ctx_free(ctx);
			return 0;
		}
		free(out);
		out = NULL;
		if (ntlm_authenticate(ctx, data + 1, size - 1, &out, &out_len) == 0) {
			(void)ntlm_session_key(ctx, sk);
			(void)spnego_ntlm_mech_types(&types, &types_len);
			(void)ntlm_sign_mech_list(ctx, types, types_len, sig);
			/* The input's tail as the server's mechListMIC. */
			mic_len = size - 1 < 16 ? size - 1 : 16;
			(void)ntlm_verify_mech_list(ctx, types, types_len, data + size - mic_len,
						    mic_len);
		}
		free(out);
		ntlm_ctx_free(ctx);
		break;
	case 1:
		(void)spnego_parse_hints(data + 1, size - 1, &h);
		break;
	default:
		if (spnego_parse_resp(data + 1, size - 1, &state, &tok, &tok_len, &mic, &mic_len) == 0) {
			/* The token and the mechListMIC must lie inside the input. */
			if (tok_len && (tok < data + 1 || tok + tok_len > data + size))
				abort();
			if (mic_len && (mic < data + 1 || mic + mic_len > data + size))
				abort();
		}
		break;
	}
	return 0;
}
