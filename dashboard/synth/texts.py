"""What a case says: short titles, descriptions and addresses in Chinese.

Descriptions sometimes carry a name, a phone or an ID number, as real 12345 and patrol records do;
the wall masks them.
"""

from __future__ import annotations

from .names import SURNAMES, fake_id_number, fake_phone

# Short phrases per minor category (the wall's title = place + phrase).
PHRASES: dict[str, tuple[str, ...]] = {
    "0101": ("暴露垃圾", "垃圾乱倒", "生活垃圾堆放", "垃圾桶满溢"),
    "0102": ("道路不洁", "路面油污", "路面泥浆污染"),
    "0103": ("乱堆物堆料", "楼道堆物", "占道堆放杂物"),
    "0104": ("建筑垃圾偷倒", "渣土偷倒", "积存渣土"),
    "0105": ("焚烧垃圾", "焚烧树叶秸秆"),
    "0201": ("非法小广告", "乱贴小广告", "墙面喷涂广告"),
    "0202": ("违规店招", "违规户外广告", "广告牌破损"),
    "0203": ("街头散发广告",),
    "0301": ("占道经营", "无照游商", "流动摊贩"),
    "0302": ("店外经营", "跨门营业"),
    "0303": ("乱停车", "机动车违停", "非机动车乱停放"),
    "0304": ("流浪乞讨人员",),
    "0401": ("违章搭建", "私搭乱建", "违法建设"),
    "0402": ("夜间施工扰民", "施工噪声扰民"),
    "0403": ("工地扬尘", "裸土未覆盖"),
    "0404": ("施工围挡破损", "施工占道"),
    "0501": ("井盖缺失", "井盖破损"),
    "0502": ("道路破损", "路面塌陷", "路面坑洼"),
    "0503": ("路灯不亮", "路灯损坏"),
    "0504": ("自来水管爆裂", "污水冒溢", "雨水管道堵塞"),
    "0505": ("公共设施损坏", "护栏损坏", "健身器材损坏"),
    "0601": ("河道污染", "水体黑臭", "河面漂浮物"),
    "0602": ("餐饮油烟扰民", "异味扰民", "露天焚烧"),
    "0603": ("噪声扰民", "商铺音响扰民"),
    "0604": ("危废非法倾倒", "固废非法倾倒"),
    "0701": ("消防通道堵塞", "消防通道被占用"),
    "0702": ("电动车楼道充电", "电动车飞线充电"),
    "0703": ("燃气安全隐患", "私拉电线隐患"),
    "0704": ("三合一场所隐患", "群租房安全隐患"),
    "0705": ("企业安全生产隐患", "危化品存放不规范"),
    "0706": ("食品安全隐患", "无证餐饮"),
    "0801": ("邻里纠纷",),
    "0802": ("家庭纠纷",),
    "0803": ("拖欠工资", "劳资纠纷"),
    "0804": ("物业纠纷", "物业服务投诉"),
    "0805": ("宅基地纠纷", "土地纠纷"),
    "0806": ("征地拆迁纠纷",),
    "0807": ("群体性矛盾苗头",),
    "0901": ("治安隐患", "可疑人员"),
    "0902": ("涉赌线索", "涉黄线索"),
    "0903": ("重点人员异常动态",),
    "0904": ("校园周边安全隐患", "校门口拥堵"),
    "0905": ("护路护线隐患", "铁路沿线隐患"),
    "1001": ("困难群众帮扶", "独居老人帮扶"),
    "1002": ("社保咨询", "就业援助"),
    "1003": ("医疗卫生问题",),
    "1004": ("教育问题", "入学咨询"),
    "1005": ("证件代办",),
    "1006": ("停水", "停电", "燃气故障"),
    "1101": ("火情", "火灾"),
    "1102": ("道路积水", "倒树", "电杆倾倒"),
    "1103": ("交通事故",),
    "1104": ("公共卫生事件",),
}

DETAILS: dict[str, tuple[str, ...]] = {
    "01": ("影响周边环境", "已持续多日", "气味较大，居民意见大", "影响市容"),
    "02": ("影响市容", "面积较大", "反复出现"),
    "03": ("影响行人通行", "早晚高峰尤为严重", "占用盲道", "多次劝导无效"),
    "04": ("周边居民反映强烈", "存在安全隐患", "未见相关手续"),
    "05": ("存在安全隐患", "影响车辆通行", "夜间行人易摔倒"),
    "06": ("周边居民反映强烈", "夜间尤为明显", "影响生活"),
    "07": ("存在较大安全隐患", "需尽快排查", "已现场提醒"),
    "08": ("双方情绪激动", "多次协调未果", "涉及多户居民"),
    "09": ("需关注", "请相关部门核查"),
    "10": ("请求帮助", "家中无人照料", "多次咨询未果"),
    "11": ("情况紧急", "现场已设置警示", "请立即处置"),
}

ESTATE_SUFFIXES = ("新村", "花园", "小区", "家园", "苑")


def phrase(code: str, u: float) -> str:
    options = PHRASES.get(code) or ("事件",)
    return options[int(u * len(options)) % len(options)]


def detail(code: str, u: float) -> str:
    options = DETAILS.get(code[:2]) or ("请核查处理",)
    return options[int(u * len(options)) % len(options)]


def place(community: str, roads: tuple[str, ...], u: list[float]) -> tuple[str, str]:
    """(short place for the title, address tail) inside a community or village."""
    if community.endswith("村"):
        group = 1 + int(u[0] * 12)
        return f"{community}{group}组", f"{community}{group}组{1 + int(u[1] * 60)}号"
    road = roads[int(u[0] * len(roads)) % len(roads)] if roads else f"{community[:2]}路"
    if u[2] < 0.5:
        number = 1 + int(u[1] * 300)
        return f"{road}{number}号附近", f"{road}{number}号"
    base = community.removesuffix("社区") or community
    estate = base + ESTATE_SUFFIXES[int(u[3] * len(ESTATE_SUFFIXES)) % len(ESTATE_SUFFIXES)]
    building = 1 + int(u[1] * 40)
    return f"{estate}{building}幢", f"{road}{estate}{building}幢"


def description(source: str, code: str, where: str, county: str, u: list[float]) -> str:
    """A free-text description; some carry a caller's surname and phone or an ID number."""
    what, more = phrase(code, u[0]), detail(code, u[1])
    surname = SURNAMES[int(u[2] * len(SURNAMES)) % len(SURNAMES)]
    title = "先生" if u[3] < 0.5 else "女士"
    phone = fake_phone(u[4], u[5])
    if source == "patrol":
        text = f"网格员巡查发现{where}{what}，{more}，已拍照上报。"
        if u[6] < 0.15:
            text += f"现场当事人{surname}{title}，联系电话{phone}。"
        return text
    if source in ("hotline", "other"):
        text = f"市民{surname}{title}来电反映：{where}{what}，{more}，希望尽快处理。"
        if u[6] < 0.6:
            text += f"联系电话：{phone}。"
        if code[:2] in ("08", "10") and u[7] < 0.15:
            text += f"身份证号：{fake_id_number(county, u[4], u[7])}。"
        return text
    if source == "resident":
        return f"居民随手拍：{where}{what}，{more}。" + (f"（{surname}{title} {phone}）" if u[6] < 0.3 else "")
    if source == "video":
        return f"视频AI识别：{where}附近摄像头检测到{what}，置信度0.{80 + int(u[6] * 19)}。"
    if source == "sensor":
        return f"物联感知设备告警：{where}{what}，设备编号IOT-{int(u[6] * 1e6):06d}。"
    if source == "department":
        return f"部门移交：{where}{what}，请属地核查处置。"
    if source == "superior":
        return f"上级交办：{where}{what}，{more}，请按期办结并反馈。"
    return f"{where}{what}。"
