@echo off
rem Removes the IddCx virtual display device ({{IDD_HWID}}).
setlocal
"%~dp0iddcx\{{IDD_TOOL}}" remove "{{IDD_HWID}}"
exit /b 0
