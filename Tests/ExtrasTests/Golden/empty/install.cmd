@echo off
rem vm extras for win11: run from the extras CD as administrator
rem (`vm extras install win11` does so through the guest agent).
setlocal
set EXTRAS=%~dp0
set STATE=%ProgramData%\vm
if not exist "%STATE%" mkdir "%STATE%"
set RESULT=0
echo Nothing to install: see MISSING.txt
exit /b %RESULT%
