@echo off
rem Installs the IddCx virtual display driver ({{IDD_INF}}, hardware id {{IDD_HWID}}),
rem the alternative to usbmmidd: its monitor survives reboots without a logon task.
setlocal
set SRC=%~dp0iddcx
pnputil /add-driver "%SRC%\{{IDD_INF}}" /install || exit /b 1
"%SRC%\{{IDD_TOOL}}" install "%SRC%\{{IDD_INF}}" "{{IDD_HWID}}" || exit /b 1
exit /b 0
