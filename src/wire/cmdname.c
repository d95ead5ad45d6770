/* SMB2 command names, as Wireshark shows them. */
#include "smb2fs/wire.h"

/* MS-SMB2 2.2.1.2 (Command field) */
const char *smb2_cmd_name(uint16_t cmd)
{
	static const char *const names[SMB2_NCOMMANDS] = {
		[SMB2_NEGOTIATE] = "NEGOTIATE",
		[SMB2_SESSION_SETUP] = "SESSION_SETUP",
		[SMB2_LOGOFF] = "LOGOFF",
		[SMB2_TREE_CONNECT] = "TREE_CONNECT",
		[SMB2_TREE_DISCONNECT] = "TREE_DISCONNECT",
		[SMB2_CREATE] = "CREATE",
		[SMB2_CLOSE] = "CLOSE",
		[SMB2_FLUSH] = "FLUSH",
		[SMB2_READ] = "READ",
		[SMB2_WRITE] = "WRITE",
		[SMB2_LOCK] = "LOCK",
		[SMB2_IOCTL] = "IOCTL",
		[SMB2_CANCEL] = "CANCEL",
		[SMB2_ECHO] = "ECHO",
		[SMB2_QUERY_DIRECTORY] = "QUERY_DIRECTORY",
		[SMB2_CHANGE_NOTIFY] = "CHANGE_NOTIFY",
		[SMB2_QUERY_INFO] = "QUERY_INFO",
		[SMB2_SET_INFO] = "SET_INFO",
		[SMB2_OPLOCK_BREAK] = "OPLOCK_BREAK",
	};
	if (cmd < SMB2_NCOMMANDS && names[cmd])
		return names[cmd];
	return "UNKNOWN";
}
