#!/usr/bin/env python3
"""Reads the golden scenario's expected tree against its drops, independently of ktsx: every record of a
dropped ENR/ATT file that its error file does not list reaches exactly its receiver (the center of an
enrollment, the home high school of attendance) in one routed file in the receiver's format (outputFormat;
`same` is XML), and nobody else; every accepted grade is in exactly one posting at its home school; each
unknown-attendance sync holds the day's unknown absences of its school (refused records are named).
Run after `KTSX_UPDATE_GOLDEN=1 swift test --filter GoldenScenario`, before committing the diff:
    python3 tools/check_golden_routing.py
"""
import csv, io, os, re, glob, collections
S='Fixtures/scenario'; E=S+'/expected'
fmt={}
for row in csv.DictReader(open(S+'/config/participants.csv')): fmt[row['orgId']]=row['outputFormat']
def records(path):
    t=open(path,encoding='utf-8').read()
    if path.endswith('.csv'):
        return list(csv.DictReader(io.StringIO(t)))
    out=[]
    for m in re.finditer(r'<(Enrollment|Attendance|Grade|WaiverRequest|[A-Za-z]+Record)>(.*?)</\1>', t, re.S):
        d={}
        for k,v in re.findall(r'<([A-Za-z]+)>([^<]*)</\1>', m.group(2)): d[k[0].lower()+k[1:]]=v
        out.append(d)
    return out
def xmlrecs(path):
    t=open(path,encoding='utf-8').read()
    ids=re.findall(r'<RecordId>([^<]+)</RecordId>',t); return ids
def refused(sender, name):
    """The recordIds the error files of a dropped file list (the records refused)."""
    keys=set()
    for e in glob.glob(f'{E}/{sender}/{name}.errors.*'):
        t=open(e,encoding='utf-8').read()
        keys|=set(re.findall(r'<RecordKey>([^<]+)</RecordKey>',t)) | set(r.get('recordKey','') for r in (csv.DictReader(io.StringIO(t)) if e.endswith('.csv') else []))
    return keys
problems=0
for drop in sorted(glob.glob(S+'/drops/KTSX_*')):
    name=os.path.basename(drop); typ=name[5:8]; sender=name[9:15]
    if typ not in ('ATT','ENR'): continue
    recs=records(drop)
    bad=refused(sender, name)
    target='techCenterOrgId' if typ=='ENR' else 'homeSchoolOrgId'
    want=collections.defaultdict(set)
    for r in recs:
        if r['recordId'] not in bad: want[r[target]].add(r['recordId'])
    sent={r['recordId']: {k: v for k, v in r.items() if v} for r in recs}
    for school,ids in want.items():
        files=glob.glob(f'{E}/{school}/KTSX_{typ}_{sender}_{{{name}}}.*')
        got=[]
        for f in files:
            routed=records(f)
            got+=[r['recordId'] for r in routed]
            # Field by field: what the school receives is what the sender sent (canonical already).
            for r in routed:
                fields={k: v for k, v in r.items() if v}
                if fields!=sent.get(r['recordId']):
                    print('FIELDS', name, school, r['recordId'], sorted(set(fields.items()) ^ set(sent.get(r['recordId'], {}).items())))
                    problems+=1
            ext=f.rsplit('.',1)[1]; exp='xml' if fmt[school] in ('xml','same') else 'csv'
            if ext!=exp: print('FORMAT',school,f,ext,exp); problems+=1
        if sorted(got)!=sorted(ids): print('MISMATCH',name,school,len(got),len(ids)); problems+=1
        else: print('ok',name,'->',school,len(ids),'records', [os.path.basename(f)[-4:] for f in files])
    # nobody else gets files from this receipt
    for f in glob.glob(f'{E}/*/KTSX_{typ}_{sender}_{{{name}}}.*'):
        school=f.split('/')[-2]
        if school not in want: print('EXTRA', f); problems+=1
print('problems',problems)
# grades: every accepted grade in exactly one posting at its home school
acc=collections.defaultdict(set)
for drop in sorted(glob.glob(S+'/drops/KTSX_GRD_*')):
    name=os.path.basename(drop); sender=name[9:15]
    bad=refused(sender, name)
    for r in records(drop):
        if r['recordId'] not in bad: acc[r['homeSchoolOrgId']].add(r['recordId'])
for school,ids in sorted(acc.items()):
    got=[]
    for f in glob.glob(f'{E}/{school}/KTSX_GPO_*'):
        got+= xmlrecs(f) if f.endswith('.xml') else [r['recordId'] for r in csv.DictReader(open(f))]
    print('GPO', school, 'accepted', len(ids), 'posted', len(got), 'same' if sorted(got)==sorted(ids) else 'DIFF')
# unknown sync of 061010
for f in sorted(glob.glob(f'{E}/061010/KTSX_UKA_*')):
    day=re.search(r'\|(\d{4}-\d{2}-\d{2})', f).group(1)
    want=set()
    for drop in glob.glob(S+f'/drops/KTSX_ATT_*_{day.replace("-","")}T163000_0001.*'):
        name=os.path.basename(drop)
        bad=refused(name[9:15], name)
        for r in records(drop):
            if r['recordId'] in bad: continue
            if r['homeSchoolOrgId']=='061010' and r.get('excuseStatus')=='UK' and r['attendanceStatus']!='P' and r['attendanceDate']==day: want.add(r['recordId'])
    got=set(xmlrecs(f))
    print('UKA', day, len(want), len(got), 'same' if want==got else ('DIFF', want-got, got-want))
