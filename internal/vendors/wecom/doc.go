// Package wecom is the WeCom (企业微信) appchat client and its simulator:
// chats made by the app (appchat/create, appchat/update, appchat/get), a
// token from the enterprise's corpId and the app's corpSecret (gettoken),
// and the errcode envelope. The client chooses a chat's id (chatid) at
// create time, so a create whose answer is lost is settled by reading that
// id, and one appchat/update renames, changes the owner, adds and removes.
//
// Unconfirmed: the vendor publishes no errcode for "no such chat" nor for
// "chatid exists"; the simulator answers 86003 and 86215, and the client
// takes only NotFoundCodes to mean a chat is gone.
package wecom
