@echo off
rem Installs the IddCx virtual display driver (MttVDD.inf, hardware id Root\MttVDD),
rem the alternative to usbmmidd: its monitor survives reboots without a logon task.
setlocal
set SRC=%~dp0iddcx
pnputil /add-driver "%SRC%\MttVDD.inf" /install || exit /b 1
"%SRC%\nefconc.exe" install "%SRC%\MttVDD.inf" "Root\MttVDD" || exit /b 1
exit /b 0
